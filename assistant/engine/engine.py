"""The Engine: compiled rules plus the conversation-level nudges.

An Engine is immutable once built and safe to share between threads. When the lexicon
changes, build a new one and swap the reference; the old one serves until then.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from .context import MIN_REPEAT_WORDS, Context, PendingFeeling, sentence_around, sentences
from .findings import Finding
from .lexicon import Rule
from .matcher import EmpathyRules
from .slots import SlotValues, fill, thing_mentioned

# Conversation rules (role: conversation) hold the wording of these nudges as data.
UNACKNOWLEDGED = "unacknowledged-feeling"
NAME_UNUSED = "customer-name-unused"
REPEATED = "repeated-sentence"
WAITING = "customer-waiting"

MIN_DRAFT_WORDS_FOR_CONTEXT = 3
MIN_DRAFT_WORDS_FOR_NAME = 8


@lru_cache(maxsize=4)
def load_pipeline(name: str | None = None) -> Language:
    """A blank English pipeline (no download) or, if configured, a trained one."""
    return spacy.load(name) if name else spacy.blank("en")


class Engine:
    def __init__(self, rules: Iterable[Rule], pipeline: str | None = None) -> None:
        self.nlp = load_pipeline(pipeline)
        self.trained = bool(self.nlp.pipe_names)
        rules = [r for r in rules if r.enabled]
        # Rules needing part-of-speech or dependencies only run with a trained pipeline.
        self.inactive = [r for r in rules if r.needs_trained_pipeline and not self.trained]
        active = [r for r in rules if r not in self.inactive]
        self.component = EmpathyRules(self.nlp)
        self.component.add_rules(r for r in active if r.role != "conversation")
        self.rules: dict[str, Rule] = {r.id: r for r in active}

    def __len__(self) -> int:
        return len(self.rules)

    # -- single texts -------------------------------------------------------------------

    def _doc(self, text: str) -> Doc:
        return self.nlp(text) if self.trained else self.nlp.make_doc(text)

    def _matches(self, text: str, role: str) -> list[tuple[Rule, int, int, str]]:
        doc = self._doc(text)
        found = []
        for rule_id, start, end in self.component.match(doc, role):
            rule = self.rules[rule_id]
            if rule.role == role:
                span = doc[start:end]
                found.append((rule, span.start_char, span.end_char, span.text))
        return found

    def matching_rules(self, text: str) -> set[str]:
        """Ids of every rule, of any role, that matches the text (for checking examples)."""
        return {rule_id for rule_id, _, _ in self.component.match(self._doc(text))}

    def analyse(self, text: str, context: Context | None = None) -> list[Finding]:
        """Agent-side rules over one draft or reply."""
        values = _slot_values(context)
        return [
            _finding(rule, start, end, matched, values)
            for rule, start, end, matched in self._matches(text, "agent")
        ]

    def feelings(self, text: str) -> list[Finding]:
        """Feelings in one customer message; the category names the feeling."""
        found = []
        for rule, start, end, matched in self._matches(text, "customer"):
            quote = sentence_around(text, start, end)
            found.append(_finding(rule, start, end, matched, SlotValues(quote=quote)))
        return found

    def acknowledgements(self, text: str) -> set[str]:
        """The feelings an agent's text acknowledges ('any' for a general acknowledgement)."""
        return {rule.category for rule, *_ in self._matches(text, "acknowledgement")}

    # -- conversations ------------------------------------------------------------------

    def observe_customer(self, context: Context, text: str) -> list[Finding]:
        context.customer_messages += 1
        found = self.feelings(text)
        for finding in found:
            quote = sentence_around(text, finding.start, finding.end)
            context.pending.append(
                PendingFeeling(finding.rule, finding.category, quote, context.customer_messages)
            )
        context.forget_old_feelings()
        context.thing = thing_mentioned(text) or context.thing
        return found

    def observe_agent(self, context: Context, text: str) -> None:
        context.agent_messages += 1
        context.acknowledge(self.acknowledgements(text))
        context.name_used = context.name_used or context.mentions_name(text)
        for *_, sentence in sentences(text):
            if len(sentence.split()) >= MIN_REPEAT_WORDS and sentence not in context.sent_sentences:
                context.sent_sentences.append(sentence)

    def review(self, draft: str, context: Context) -> list[Finding]:
        """Everything worth saying about a draft in this conversation."""
        findings = self.analyse(draft, context)
        if len(draft.split()) < MIN_DRAFT_WORDS_FOR_CONTEXT:
            return findings
        findings += self._unacknowledged(draft, context)
        findings += self._name_unused(draft, context)
        findings += self._repeated(draft, context)
        return findings

    def waiting_nudge(self, context: Context, waited_seconds: float) -> Finding | None:
        rule = self.rules.get(WAITING)
        if rule is None:
            return None
        values = _slot_values(context, waited=_duration(waited_seconds))
        return _finding(rule, 0, 0, "", values)

    def _unacknowledged(self, draft: str, context: Context) -> list[Finding]:
        rule = self.rules.get(UNACKNOWLEDGED)
        if rule is None or not context.pending:
            return []
        acknowledged = self.acknowledgements(draft)
        waiting = [p for p in context.pending if p.category not in acknowledged]
        if not waiting or "any" in acknowledged:
            return []
        feeling = waiting[-1]
        values = _slot_values(context, quote=feeling.quote)
        finding = _finding(rule, 0, 0, "", values, category=feeling.category)
        own = self.rules.get(feeling.rule)
        extra = [fill(s, values) for s in own.suggestions] if own else []
        return [_with_suggestions(finding, extra + finding.suggestions)]

    def _name_unused(self, draft: str, context: Context) -> list[Finding]:
        rule = self.rules.get(NAME_UNUSED)
        if (
            rule is None
            or not context.customer_name
            or context.name_used
            or context.mentions_name(draft)
            or len(draft.split()) < MIN_DRAFT_WORDS_FOR_NAME
        ):
            return []
        return [_finding(rule, 0, 0, "", _slot_values(context))]

    def _repeated(self, draft: str, context: Context) -> list[Finding]:
        rule = self.rules.get(REPEATED)
        if rule is None:
            return []
        return [
            _finding(rule, start, end, draft[start:end], _slot_values(context))
            for start, end, sentence in sentences(draft)
            if len(sentence.split()) >= MIN_REPEAT_WORDS and sentence in context.sent_sentences
        ]


def _slot_values(context: Context | None, **extra: str) -> SlotValues:
    if context is None:
        return SlotValues(**extra)
    first_name = context.customer_name.split()[0] if context.customer_name else None
    return SlotValues(name=first_name, thing=context.thing, **extra)


def _finding(
    rule: Rule, start: int, end: int, text: str, values: SlotValues, category: str | None = None
) -> Finding:
    return Finding(
        rule=rule.id,
        category=category or rule.category,
        question=rule.question,
        start=start,
        end=end,
        text=text,
        message=fill(rule.message, values),
        suggestions=_unique(fill(s, values) for s in rule.suggestions),
        severity=rule.severity,
    )


def _with_suggestions(finding: Finding, suggestions: list[str]) -> Finding:
    return Finding(**{**finding.to_dict(), "suggestions": _unique(suggestions)})


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} seconds"
    return f"{round(seconds / 60)} minutes"
