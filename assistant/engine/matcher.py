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

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from .lexicon import LexiconError, Rule
from .phrases import MAX_SEQUENCES, Word, parse_phrase
from .wordforms import WordForms, shared_word_forms

SPANS_KEY = "empathy"
EXCEPTION_SUFFIX = "#except"
PHRASE_ATTRS = ("NORM", "LOWER", "ORTH", "SHAPE")

Match = tuple[str, int, int]
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
        self.token_matcher = Matcher(nlp.vocab, validate=True)
        self.rules: dict[str, Rule] = {}
        self._word_tokens: dict[Word, list[dict]] = {}
        # key of a NORM phrase with exact words -> (rule key, [(token offset, lowercase)])
        self._exact_checks: dict[str, tuple[str, list[tuple[int, str]]]] = {}

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

    def _teach(self, rule: Rule) -> None:
        for phrase in rule.patterns + rule.exceptions:
            for words in parse_phrase(phrase):
                for word in words:
                    if not word.exact:
                        self.word_forms.teach(self.nlp.vocab, word.text)
        for pattern in rule.tokens:
            for token in pattern:
                if "LEMMA" in token:
                    self._lemma_value(token["LEMMA"])

    def _add_rule(self, rule: Rule) -> None:
        self.rules[rule.id] = rule
        patterns = self._phrase_patterns(rule.patterns)
        patterns += [self._normalise_lemmas(list(p)) for p in rule.tokens]
        self._add_patterns(rule.id, patterns)
        self._add_patterns(rule.id + EXCEPTION_SUFFIX, self._phrase_patterns(rule.exceptions))

    def _phrase_patterns(self, phrases: Iterable[str]) -> list[TokenPattern]:
        """Plain phrases as token patterns: NORM per token, LOWER for exact words."""
        return [
            [token for word in words for token in self._tokens_of(word)]
            for phrase in phrases
            for words in parse_phrase(phrase)
        ]

    def _tokens_of(self, word: Word) -> list[dict]:
        if word not in self._word_tokens:
            doc = self.nlp.make_doc(word.text)  # "we're" is two tokens, as in the text
            key = "LOWER" if word.exact else "NORM"
            self._word_tokens[word] = [{key: t.lower_ if word.exact else t.norm_} for t in doc]
        return self._word_tokens[word]

    def _add_patterns(self, key: str, patterns: list[TokenPattern]) -> None:
        phrase_docs: dict[str, list[Doc]] = defaultdict(list)
        matcher_patterns = []
        for pattern in patterns:
            routed = self._as_phrase_docs(pattern)
            checked = None if routed else self._as_checked_norm_doc(pattern)
            if routed:
                phrase_docs[routed[0]].extend(routed[1])
            elif checked:
                exact_key = f"{key}#exact{len(self._exact_checks)}"
                self._exact_checks[exact_key] = (key, checked[1])
                self.phrase_matchers["NORM"].add(exact_key, [checked[0]])
            else:
                matcher_patterns.append(pattern)
        for attr, docs in phrase_docs.items():
            self.phrase_matchers[attr].add(key, docs)
        if matcher_patterns:
            self.token_matcher.add(key, matcher_patterns)

    def _as_phrase_docs(self, pattern: TokenPattern) -> tuple[str, list[Doc]] | None:
        """A pattern of one attribute with plain values (or IN lists) as phrase docs."""
        attrs, choices = set(), []
        for token in pattern:
            if len(token) != 1:
                return None
            ((attr, value),) = token.items()
            attr = "ORTH" if attr == "TEXT" else attr
            options = value["IN"] if isinstance(value, dict) and set(value) == {"IN"} else [value]
            if attr not in PHRASE_ATTRS or not all(isinstance(o, str) and o for o in options):
                return None
            attrs.add(attr)
            choices.append(options)
        if len(attrs) != 1 or _product_size(choices) > MAX_SEQUENCES:
            return None
        attr = attrs.pop()
        docs = [self._doc_of(attr, words) for words in itertools.product(*choices)]
        return (attr, docs) if all(docs) else None

    def _doc_of(self, attr: str, values: Iterable[str]) -> Doc | None:
        """A pattern doc whose tokens carry these attribute values (None if impossible)."""
        values = list(values)
        doc = Doc(self.nlp.vocab, words=values)
        if attr == "NORM":  # set per token: "'s" reads "'s" in text, whatever its lexeme says
            for token, value in zip(doc, values, strict=True):
                token.norm_ = value
            return doc
        name = _ATTR_NAMES[attr]
        return doc if [getattr(t, name) for t in doc] == values else None

    def _as_checked_norm_doc(self, pattern: TokenPattern) -> tuple[Doc, list] | None:
        """A phrase with exact words: match on NORM, then check those words' lowercase."""
        words, checks = [], []
        for offset, token in enumerate(pattern):
            if len(token) != 1:
                return None
            ((attr, value),) = token.items()
            if attr not in ("NORM", "LOWER") or not isinstance(value, str):
                return None
            words.append(value if attr == "NORM" else self.nlp.vocab[value].norm_)
            if attr == "LOWER":
                checks.append((offset, value))
        return self._doc_of("NORM", words), checks

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

    def match(self, doc: Doc) -> list[Match]:
        """(rule id, start token, end token) for every match that survives the filters."""
        raw = []
        for matcher in self.phrase_matchers.values():
            if len(matcher):
                raw += matcher(doc)
        if len(self.token_matcher):
            raw += self.token_matcher(doc)
        if not raw:  # the common case: a reply with nothing to say about it
            return []
        strings = self.nlp.vocab.strings
        by_rule: dict[str, list[tuple[int, int]]] = defaultdict(list)
        exceptions: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for key, start, end in raw:
            label = strings[key]
            if label in self._exact_checks:
                label, checks = self._exact_checks[label]
                if any(doc[start + offset].lower_ != lower for offset, lower in checks):
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


_ATTR_NAMES = {"NORM": "norm_", "LOWER": "lower_", "ORTH": "orth_", "SHAPE": "shape_"}


def _product_size(choices: list[list[str]]) -> int:
    size = 1
    for options in choices:
        size *= len(options)
    return size


def _longest(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Of overlapping matches of one rule keep the longest (first on ties)."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(set(spans), key=lambda s: (s[0] - s[1], s[0])):
        if not _overlaps(start, end, kept):
            kept.append((start, end))
    return kept


def _overlaps(start: int, end: int, others) -> bool:
    return any(o_start < end and start < o_end for o_start, o_end in others)


SENTENCE_ENDS = {".", "!", "?", "…", "\n"}


def _in_scope(doc: Doc, start: int, end: int, scope: str) -> bool:
    """'start': the span opens a sentence; 'whole': it is the entire message."""
    if scope == "anywhere":
        return True
    if scope == "start":
        previous = [t for t in doc[:start] if not (t.is_space or t.is_quote or t.is_bracket)]
        return not previous or previous[-1].text[-1:] in SENTENCE_ENDS
    rest = [*doc[:start], *doc[end:]]
    return all(t.is_punct or t.is_space for t in rest)


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else type(error).__name__
