"""The `empathy_rules` spaCy component: rules compiled into one PhraseMatcher and one Matcher.

Like spaCy's SpanRuler it is configuration plus patterns, but it matches on NORM (see
wordforms.py), honours per-rule exceptions and scopes, and writes every match into
`doc.spans["empathy"]` labelled with the rule id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from .lexicon import LexiconError, Rule
from .phrases import parse_phrase
from .wordforms import WordForms, shared_word_forms

SPANS_KEY = "empathy"
EXCEPTION_SUFFIX = "#except"


@Language.factory("empathy_rules", default_config={})
def make_empathy_rules(nlp: Language, name: str) -> EmpathyRules:
    return EmpathyRules(nlp, name)


class EmpathyRules:
    def __init__(self, nlp: Language, name: str = "empathy_rules") -> None:
        self.nlp = nlp
        self.name = name
        self.word_forms: WordForms = shared_word_forms()
        self.phrase_matcher = PhraseMatcher(nlp.vocab, attr="NORM")
        self.token_matcher = Matcher(nlp.vocab, validate=True)
        self.rules: dict[str, Rule] = {}

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

    def _add_rule(self, rule: Rule) -> None:
        self.rules[rule.id] = rule
        phrase_docs, token_patterns = self._compile_phrases(rule.patterns)
        if phrase_docs:
            self.phrase_matcher.add(rule.id, phrase_docs)
        token_patterns += [self._normalise_lemmas(list(p)) for p in rule.tokens]
        if token_patterns:
            self.token_matcher.add(rule.id, token_patterns)
        exception_docs, exception_tokens = self._compile_phrases(rule.exceptions)
        if exception_docs:
            self.phrase_matcher.add(rule.id + EXCEPTION_SUFFIX, exception_docs)
        if exception_tokens:
            self.token_matcher.add(rule.id + EXCEPTION_SUFFIX, exception_tokens)

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

    def _compile_phrases(self, phrases: Iterable[str]) -> tuple[list[Doc], list[list[dict]]]:
        """Plain phrases to NORM docs; sequences with an exact word= become token patterns."""
        docs, token_patterns = [], []
        for phrase in phrases:
            for words in parse_phrase(phrase):
                if any(word.exact for word in words):
                    token_patterns.append(self._exact_pattern(words))
                else:
                    docs.append(self.nlp.make_doc(" ".join(word.text for word in words)))
        return docs, token_patterns

    def _exact_pattern(self, words) -> list[dict]:
        pattern = []
        for word in words:
            for token in self.nlp.make_doc(word.text):
                key = "LOWER" if word.exact else "NORM"
                value = token.lower_ if word.exact else token.norm_
                pattern.append({key: value})
        return pattern

    def _normalise_lemmas(self, pattern: list[dict]) -> list[dict]:
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
        spans = [Span(doc, s, e, label=k) for k, s, e in self.phrase_matcher(doc)]
        spans += [Span(doc, s, e, label=k) for k, s, e in self.token_matcher(doc)]
        doc.spans[SPANS_KEY] = self._filter(doc, spans)
        return doc

    def _filter(self, doc: Doc, spans: list[Span]) -> list[Span]:
        """Drop matches inside an exception or outside the rule's scope; longest per rule wins."""
        by_rule: dict[str, list[Span]] = defaultdict(list)
        exceptions: dict[str, list[Span]] = defaultdict(list)
        for span in spans:
            if span.label_.endswith(EXCEPTION_SUFFIX):
                exceptions[span.label_.removesuffix(EXCEPTION_SUFFIX)].append(span)
            else:
                by_rule[span.label_].append(span)
        kept = []
        for rule_id, rule_spans in by_rule.items():
            rule = self.rules[rule_id]
            for span in filter_spans(rule_spans):
                if _in_scope(doc, span, rule.scope) and not _overlaps(span, exceptions[rule_id]):
                    kept.append(span)
        return sorted(kept, key=lambda s: (s.start, s.end))


def _overlaps(span: Span, others: list[Span]) -> bool:
    return any(o.start < span.end and span.start < o.end for o in others)


SENTENCE_ENDS = {".", "!", "?", "…", "\n"}


def _in_scope(doc: Doc, span: Span, scope: str) -> bool:
    """'start': the span opens a sentence; 'whole': it is the entire message."""
    if scope == "anywhere":
        return True
    if scope == "start":
        previous = [t for t in doc[: span.start] if not (t.is_space or t.is_quote or t.is_bracket)]
        return not previous or previous[-1].text[-1:] in SENTENCE_ENDS
    rest = [*doc[: span.start], *doc[span.end :]]
    return all(t.is_punct or t.is_space for t in rest)


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else type(error).__name__
