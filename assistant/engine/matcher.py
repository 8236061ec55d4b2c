"""The `empathy_rules` spaCy component: rules compiled into PhraseMatchers and a Matcher.

Like spaCy's SpanRuler it is configuration plus patterns, but it matches on NORM (see
wordforms.py), honours per-rule exceptions and scopes, and writes every match into
`doc.spans["empathy"]` labelled with the rule id.

Phrase matching stays flat in cost as rules grow; token patterns do not. So every
pattern that is a plain sequence of one attribute (a phrase, or a token pattern like
[{ORTH: {IN: [SLA, KPI]}}]) compiles to a PhraseMatcher on that attribute, and only
patterns with operators or predicates reach the Matcher.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from .lexicon import LexiconError, Rule
from .phrases import MAX_SEQUENCES, Word, parse_phrase
from .wordforms import WordForms, shared_word_forms

SPANS_KEY = "empathy"
EXCEPTION_SUFFIX = "#except"
TRIGGER = "#trigger"  # an anchor word of a Matcher pattern was seen: run the Matcher
PHRASE_ATTRS = ("NORM", "SHAPE")
_CHECKED_ATTRS = {"NORM": "norm_", "LOWER": "lower_", "ORTH": "orth_", "TEXT": "orth_"}

Match = tuple[str, int, int]
Check = tuple[int, str, str]  # (token offset in the match, Token attribute, required value)
TokenPattern = list[dict]


@Language.factory("empathy_rules", default_config={})
def make_empathy_rules(nlp: Language, name: str) -> EmpathyRules:
    return EmpathyRules(nlp, name)


class EmpathyRules:
    def __init__(self, nlp: Language, name: str = "empathy_rules") -> None:
        self.nlp = nlp
        self.name = name
        self.word_forms: WordForms = shared_word_forms()
        self.phrase_matchers = {attr: PhraseMatcher(nlp.vocab, attr=attr) for attr in PHRASE_ATTRS}
        # key of a phrase with LOWER/ORTH words -> (rule key, checks on the matched tokens)
        self._checks: dict[str, tuple[str, list[Check]]] = {}
        self.token_matcher = Matcher(nlp.vocab, validate=True)
        self.rules: dict[str, Rule] = {}
        self._word_tokens: dict[Word, list[tuple[str, str]]] = {}
        self._self_norms: dict[str, bool] = {}
        self._always_run_matcher = False
        self._roles_of: dict[str, set[str]] = defaultdict(set)  # which roles use a matcher
        self._matchers_for: dict[str | None, list[PhraseMatcher]] = {}

    def add_rules(self, rules: Iterable[Rule]) -> None:
        rules = list(rules)
        # Teach every word first: a later word can change the NORM of an earlier one's
        # relatives ("makes" teaches "made"), and pattern docs must see the final norms.
        for rule in rules:
            self._teach(rule)
        problems = []
        for rule in rules:
            try:
                self._add_rule(rule)
            except (ValueError, KeyError) as error:  # spaCy's validation of token patterns
                problems.append(f"{rule.source}: rule {rule.id!r}: {_first_line(error)}")
        if problems:
            raise LexiconError(problems)
        # Matching runs per keystroke: decide once which matchers each role needs.
        self._matchers_for = {
            role: [m for a, m in self.phrase_matchers.items() if role in self._roles_of[a]]
            for role in {role for roles in self._roles_of.values() for role in roles}
        }
        self._matchers_for[None] = [m for m in self.phrase_matchers.values() if len(m)]

    def _teach(self, rule: Rule) -> None:
        """Teach every word a pattern names, exact ones and token-pattern values included:
        a word's NORM is then fixed (its canonical form) before any pattern reads it, so a
        later compile in this process — an incremental update, a "Try it" — cannot shift
        the NORM under a pattern already compiled."""
        for phrase in rule.patterns + rule.exceptions:
            for word in {word for words in parse_phrase(phrase) for word in words}:
                for token in self.nlp.make_doc(word.text):
                    self.word_forms.teach(self.nlp.vocab, token.text)
        for pattern in rule.tokens:
            for token in pattern:
                for attr, value in token.items():
                    if attr == "LEMMA":
                        self._lemma_value(value)
                    elif attr in _CHECKED_ATTRS:
                        for word in _strings_in(value):
                            self.word_forms.teach(self.nlp.vocab, word)

    def _add_rule(self, rule: Rule) -> None:
        self.rules[rule.key] = rule
        self._add_phrases(rule.key, rule.patterns, rule.role)
        self._add_phrases(rule.key + EXCEPTION_SUFFIX, rule.exceptions, rule.role)
        if rule.tokens:
            patterns = [self._normalise_lemmas(list(p)) for p in rule.tokens]
            self._add_patterns(rule.key, patterns, rule.role)

    def _add_phrases(self, key: str, phrases: Iterable[str], role: str) -> None:
        """Plain phrases go straight to the NORM PhraseMatcher (the fast path: a lexicon is
        mostly phrases, often tens of thousands of sequences once alternatives expand)."""
        plain: set[tuple[str, ...]] = set()
        for phrase in phrases:
            for words in parse_phrase(phrase):
                norms: list[str] = []
                checks: list[Check] = []
                for word in words:
                    for norm, lower in self._tokens_of(word):
                        if word.exact:
                            checks.append((len(norms), "lower_", lower))
                        norms.append(norm)
                for variant in _contraction_variants(norms):
                    if checks:
                        self._add_checked(key, self._norm_doc(variant), checks)
                    else:
                        plain.add(variant)
        if plain:
            self.phrase_matchers["NORM"].add(key, [self._norm_doc(n) for n in sorted(plain)])
            self._roles_of["NORM"].add(role)

    def _tokens_of(self, word: Word) -> list[tuple[str, str]]:
        """(NORM, lowercase) of each token of a word as the tokenizer splits it in text."""
        if word not in self._word_tokens:
            doc = self.nlp.make_doc(word.text)  # "we're" is two tokens, as in the text
            self._word_tokens[word] = [(t.norm_, t.lower_) for t in doc]
        return self._word_tokens[word]

    def _add_checked(self, key: str, doc: Doc, checks: list[Check]) -> None:
        """Its own key, so that a match can be checked against its exact words."""
        checked_key = f"{key}#checked{len(self._checks)}"
        self._checks[checked_key] = (key, checks)
        self.phrase_matchers["NORM"].add(checked_key, [doc])

    def _add_patterns(self, key: str, patterns: list[TokenPattern], role: str) -> None:
        plain: dict[str, list[Doc]] = defaultdict(list)
        matcher_patterns, plans = [], []
        for pattern in patterns:
            plan = self._phrase_plan(pattern)
            if plan is None:
                matcher_patterns.append(pattern)
                self._add_trigger(pattern)
                self._roles_of["NORM"].add(role)
                continue
            plans.append(plan)
            for attr, doc, checks in plan:
                if checks:
                    self._add_checked(key, doc, checks)
                else:
                    plain[attr].append(doc)
        for attr, docs in plain.items():
            self.phrase_matchers[attr].add(key, docs)
        for attr, _, _ in (step for p in plans for step in p):
            self._roles_of[attr].add(role)
        if matcher_patterns:
            self.token_matcher.add(key, matcher_patterns)

    def _phrase_plan(self, pattern: TokenPattern) -> list[tuple[str, Doc, list[Check]]] | None:
        """How to match this pattern with PhraseMatchers alone, or None if it can't be.

        Every word attribute matches on NORM; LOWER and ORTH values become a check on the
        matched tokens, so one PhraseMatcher call covers them all."""
        variants = _expand_sets(pattern)
        if len(variants) > MAX_SEQUENCES:
            return None
        plan = []
        for variant in variants:
            items = [next(iter(t.items())) if len(t) == 1 else (None, None) for t in variant]
            if any(not isinstance(value, str) or not value for _, value in items):
                return None
            attrs = {attr for attr, _ in items}
            if attrs == {"SHAPE"}:
                plan.append(("SHAPE", self._doc_of("SHAPE", [v for _, v in items]), []))
            elif attrs <= set(_CHECKED_ATTRS):
                norms = [self._norm_of(attr, value) for attr, value in items]
                checks = [
                    (offset, _CHECKED_ATTRS[attr], value)
                    for offset, (attr, value) in enumerate(items)
                    if attr != "NORM"
                ]
                plan.append(("NORM", self._doc_of("NORM", norms), checks))
            else:
                return None
        return plan if all(doc is not None for _, doc, _ in plan) else None

    def _norm_of(self, attr: str, value: str) -> str:
        """The NORM a text token with this attribute value will carry."""
        if attr == "NORM":
            return value
        tokens = self.nlp.make_doc(value)  # "n't" takes its norm from the tokenizer's rules
        return tokens[0].norm_ if len(tokens) == 1 else self.nlp.vocab[value].norm_

    def _add_trigger(self, pattern: TokenPattern) -> None:
        """The Matcher only runs on texts holding one of its patterns' anchor words."""
        sequences = _anchor(pattern)
        if sequences is None:
            self._always_run_matcher = True
            return
        docs = [self._doc_of("NORM", [self._norm_of(a, v) for a, v in seq]) for seq in sequences]
        self.phrase_matchers["NORM"].add(TRIGGER, docs)

    def _doc_of(self, attr: str, values: Iterable[str]) -> Doc | None:
        """A pattern doc whose tokens carry these attribute values (None if impossible)."""
        if attr == "NORM":
            return self._norm_doc(values)
        values = list(values)
        doc = Doc(self.nlp.vocab, words=values)
        return doc if [token.shape_ for token in doc] == values else None

    def _norm_doc(self, norms: Iterable[str]) -> Doc:
        """A doc whose tokens carry these NORMs. Most words' lexemes already do; the few
        that don't ("'s" reads "'s" in text whatever its lexeme says) are set per token."""
        norms = list(norms)
        doc = Doc(self.nlp.vocab, words=norms)
        for i, norm in enumerate(norms):
            if not self._reads_as_itself(norm):
                doc[i].norm_ = norm
        return doc

    def _reads_as_itself(self, norm: str) -> bool:
        if norm not in self._self_norms:
            self._self_norms[norm] = self.nlp.vocab[norm].norm_ == norm
        return self._self_norms[norm]

    def _normalise_lemmas(self, pattern: TokenPattern) -> TokenPattern:
        """LEMMA works without a lemmatizer: it becomes the canonical NORM."""
        result = []
        for token in pattern:
            token = dict(token)
            if "LEMMA" in token and "lemmatizer" not in self.nlp.pipe_names:
                token["NORM"] = self._lemma_value(token.pop("LEMMA"))
            result.append(token)
        return result

    def _lemma_value(self, value):
        if isinstance(value, str):
            return self.word_forms.teach(self.nlp.vocab, value)
        if isinstance(value, dict):
            return {
                op: self._lemma_value(v) if op in ("IN", "NOT_IN") else v for op, v in value.items()
            }
        if isinstance(value, list):
            return [self._lemma_value(v) for v in value]
        return value

    def __call__(self, doc: Doc) -> Doc:
        doc.spans[SPANS_KEY] = [Span(doc, s, e, label=rule) for rule, s, e in self.match(doc)]
        return doc

    def match(self, doc: Doc, role: str | None = None) -> list[Match]:
        """(rule key, start token, end token) for every match that survives the filters.

        With a role, matchers holding no rule of that role are skipped (results may still
        include other roles' rules; callers filter)."""
        raw = []
        for matcher in self._matchers_for.get(role, ()):
            raw += matcher(doc)
        if not raw and not self._always_run_matcher:
            return []  # the common case: a reply with nothing to say about it
        strings = self.nlp.vocab.strings
        labelled = [(strings[key], start, end) for key, start, end in raw]
        if self._always_run_matcher or any(label == TRIGGER for label, _, _ in labelled):
            labelled += [(strings[k], s, e) for k, s, e in self.token_matcher(doc)]
        by_rule: dict[str, list[tuple[int, int]]] = defaultdict(list)
        exceptions: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for label, start, end in labelled:
            if label == TRIGGER:
                continue
            if label in self._checks:
                label, checks = self._checks[label]
                if any(getattr(doc[start + i], name) != value for i, name, value in checks):
                    continue
            if label.endswith(EXCEPTION_SUFFIX):
                exceptions[label.removesuffix(EXCEPTION_SUFFIX)].append((start, end))
            else:
                by_rule[label].append((start, end))
        kept = []
        for rule_id, spans in by_rule.items():
            scope = self.rules[rule_id].scope
            for start, end in _longest(spans):
                if _in_scope(doc, start, end, scope) and not _overlaps(
                    start, end, exceptions.get(rule_id, ())
                ):
                    kept.append((rule_id, start, end))
        return sorted(kept, key=lambda m: (m[1], m[2]))


# spaCy gives "'re", "n't", "'ll", "'m", "'ve" their full NORM already; "'s" and "'d" are
# ambiguous (is/has, would/had), so after a pronoun both spellings are compiled in.
_AFTER_PRONOUN = {
    "is": ("is", "'s"), "has": ("has", "'s"), "'s": ("'s", "is", "has"),
    "would": ("would", "'d"), "had": ("had", "'d"), "'d": ("'d", "would", "had"),
}  # fmt: skip
_PRONOUNS = {
    "i", "you", "we", "they", "he", "she", "it", "that", "this", "there", "here", "what",
    "who", "where", "how", "everything", "nothing", "someone", "something", "everyone",
}  # fmt: skip


def _contraction_variants(norms: list[str]) -> list[tuple[str, ...]]:
    choices = [
        _AFTER_PRONOUN[norm] if norm in _AFTER_PRONOUN and i and norms[i - 1] in _PRONOUNS
        else (norm,)
        for i, norm in enumerate(norms)
    ]  # fmt: skip
    return list(itertools.product(*choices))


def _strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [
            v
            for op, vs in value.items()
            if op in ("IN", "NOT_IN")
            for v in vs
            if isinstance(v, str)
        ]
    return []


def _anchor(pattern: TokenPattern) -> list[list[tuple[str, str]]] | None:
    """Word sequences at least one of which every match of the pattern contains: the
    longest run of plain tokens, so the Matcher wakes up for "i wo n't", not every "i"."""
    runs: list[list[tuple[str, list[str]]]] = [[]]
    for token in pattern:
        plain = _plain_values(token)
        if plain is None:
            runs.append([])
        else:
            runs[-1].append(plain)
    runs = [run for run in runs if run and _product_size([v for _, v in run]) <= 64]
    if not runs:
        return None
    best = max(runs, key=lambda run: (len(run), -sum(_stop_share(v) for _, v in run)))
    return [
        list(zip([attr for attr, _ in best], values, strict=True))
        for values in itertools.product(*[v for _, v in best])
    ]


def _plain_values(token: dict) -> tuple[str, list[str]] | None:
    if len(token) != 1:
        return None
    ((attr, value),) = token.items()
    values = value["IN"] if isinstance(value, dict) and set(value) == {"IN"} else [value]
    if attr in _CHECKED_ATTRS and all(isinstance(v, str) and v for v in values):
        return attr, values
    return None


def _stop_share(values: list[str]) -> float:
    return sum(v.lower() in STOP_WORDS for v in values) / len(values)


MAX_SET_EXPANSION = 256
_EXPANDABLE = {*_CHECKED_ATTRS, "SHAPE"}


def _expand_sets(pattern: TokenPattern) -> list[TokenPattern]:
    """Spell out IN sets and optional tokens as separate plain patterns, so that patterns
    like [{LOWER: {IN: [sorry, apologies]}}, {LOWER: but, OP: "?"}] can be phrases."""
    choices: list[list[dict | None]] = []
    for token in pattern:
        options: list[dict | None] = [token]
        for attr, value in token.items():
            if isinstance(value, dict) and set(value) == {"IN"} and attr in _EXPANDABLE:
                options = [{**token, attr: v} for v in value["IN"]]
                break
        if token.get("OP") == "?":
            options = [{k: v for k, v in o.items() if k != "OP"} for o in options] + [None]
        choices.append(options)
    if _product_size(choices) > MAX_SET_EXPANSION:
        return [pattern]
    expanded = [[t for t in tokens if t is not None] for tokens in itertools.product(*choices)]
    return [tokens for tokens in expanded if tokens]


def _product_size(choices: list[list[str]]) -> int:
    size = 1
    for options in choices:
        size *= len(options)
    return size


MAX_MATCHES_PER_RULE = 10  # one nudge per phrase is coaching; a hundred is noise


def _longest(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Of overlapping matches of one rule keep the longest (earliest on ties), in one
    left-to-right sweep."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(set(spans), key=lambda s: (s[0], s[0] - s[1])):
        if kept and start < kept[-1][1]:  # overlaps the last kept match
            if end - start > kept[-1][1] - kept[-1][0]:
                kept[-1] = (start, end)
            continue
        kept.append((start, end))
        if len(kept) > MAX_MATCHES_PER_RULE:
            break
    return kept[:MAX_MATCHES_PER_RULE]


def _overlaps(start: int, end: int, others) -> bool:
    return any(o_start < end and start < o_end for o_start, o_end in others)


SENTENCE_ENDS = {".", "!", "?", "…", "\n"}


def _in_scope(doc: Doc, start: int, end: int, scope: str) -> bool:
    """'start': the span opens a sentence; 'whole': it is the entire message."""
    if scope == "anywhere":
        return True
    if scope == "start":
        for i in range(start - 1, -1, -1):  # walk back to the first real token
            token = doc[i]
            if not (token.is_space or token.is_quote or token.is_bracket):
                return token.text[-1:] in SENTENCE_ENDS
        return True
    if len(doc) - (end - start) > 20:  # a whole message of punctuation is never this long
        return False
    rest = [*doc[:start], *doc[end:]]
    return all(t.is_punct or t.is_space for t in rest)


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else type(error).__name__
