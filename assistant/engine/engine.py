"""The Engine: compiled rules plus the conversation-level nudges.

An Engine is immutable once built and safe to share between threads. When the lexicon
changes, build a new one and swap the reference; the old one serves until then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from .context import MIN_REPEAT_WORDS, Context, PendingFeeling, Quotes, sentences
from .findings import Finding
from .lexicon import Rule
from .matcher import EmpathyRules
from .slots import SlotValues, fill, thing_mentioned
from .wordforms import shared_word_forms

# Conversation rules (role: conversation) hold the wording of these nudges as data.
UNACKNOWLEDGED = "unacknowledged-feeling"
NAME_UNUSED = "customer-name-unused"
REPEATED = "repeated-sentence"
WAITING = "customer-waiting"

Match = tuple[Rule, int, int, str]  # rule, start and end characters, matched text

# Longer texts are analysed up to here: a chat message is never this long, and a pasted
# document must not cost the server more than a normal message does.
MAX_TEXT_CHARS = 20_000
MAX_RUN_CHARS = 100  # longer runs without a space are not words
MAX_VOCABULARY = 400_000  # lexemes; about 100 MB of strings and lexemes
MAX_OVERLAY_RULES = 200  # changed rules an incremental update compiles before a full rebuild
MIN_DRAFT_WORDS_FOR_CONTEXT = 3
MIN_DRAFT_WORDS_FOR_NAME = 8


_PIPELINES: dict[str | None, Language] = {}


def load_pipeline(name: str | None = None, fresh: bool = False) -> Language:
    """A blank English pipeline (no download) or, if configured, a trained one; shared
    by the engines of a process. `fresh` replaces it with a new one (new vocabulary)."""
    if fresh or name not in _PIPELINES:
        old = _PIPELINES.get(name)
        _PIPELINES[name] = spacy.load(name) if name else spacy.blank("en")
        if old is not None:
            shared_word_forms().forget(old.vocab)
    return _PIPELINES[name]


class Engine:
    """Compiled rules for every team: global rules plus each team's own.

    `disabled` maps a team to the ids of global rules it switched off for itself; a team's
    rule with the same id as a global one replaces it for that team.
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        pipeline: str | None = None,
        disabled: Mapping[str, Iterable[str]] | None = None,
        fresh_vocabulary: bool = False,
    ) -> None:
        if fresh_vocabulary:
            load_pipeline(pipeline, fresh=True)
        self._configure(rules, pipeline, disabled)
        component = EmpathyRules(self.nlp)
        component.add_rules(self._matchable())
        # (component, keys it must ignore): one after a full build; see updated().
        self.components: list[tuple[EmpathyRules, frozenset[str]]] = [(component, frozenset())]

    def _configure(
        self,
        rules: Iterable[Rule],
        pipeline: str | None,
        disabled: Mapping[str, Iterable[str]] | None,
    ) -> None:
        self.pipeline = pipeline
        self.nlp = load_pipeline(pipeline)
        self.trained = bool(self.nlp.pipe_names)
        self.all_rules = list(rules)
        rules = [r for r in self.all_rules if r.enabled]
        # Rules needing part-of-speech or dependencies only run with a trained pipeline.
        self.inactive = [r for r in rules if r.needs_trained_pipeline and not self.trained]
        active = [r for r in rules if r not in self.inactive]
        self.rules: dict[str, Rule] = {r.key: r for r in active}
        self.disabled = {team: set(ids) for team, ids in (disabled or {}).items()}
        self._hidden = {team: set(ids) for team, ids in self.disabled.items()}
        for rule in active:
            if rule.team is not None:  # the team's own version hides the global one
                self._hidden.setdefault(rule.team, set()).add(rule.id)

    def _matchable(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.role != "conversation"]

    def updated(
        self, rules: Iterable[Rule], disabled: Mapping[str, Iterable[str]] | None = None
    ) -> Engine:
        """A new engine for these rules that recompiles only what changed.

        The last full build's matcher is reused, ignoring the rules that changed since;
        those are compiled into a small second matcher. A lead's edit goes live in
        milliseconds instead of a full recompile; past MAX_OVERLAY_RULES changed rules the
        engine is rebuilt whole. Both engines stay immutable and usable side by side.
        """
        rules = list(rules)
        engine = Engine.__new__(Engine)
        engine._configure(rules, self.pipeline, disabled)
        base, _ = self.components[0]
        if engine.nlp is not base.nlp:  # the pipeline was renewed since the base was built
            return Engine(rules, self.pipeline, disabled)
        current = {rule.key: rule for rule in engine._matchable()}
        changed = [r for k, r in current.items() if not _same_matching(base.rules.get(k), r)]
        if len(changed) > MAX_OVERLAY_RULES:
            return Engine(rules, self.pipeline, disabled)
        stale = frozenset(
            key for key, rule in base.rules.items() if not _same_matching(rule, current.get(key))
        )
        engine.components = [(base, stale)]
        if changed:
            overlay = EmpathyRules(self.nlp)
            overlay.add_rules(changed)
            engine.components.append((overlay, frozenset()))
        return engine

    @property
    def vocabulary_full(self) -> bool:
        """Every new word in a message adds to spaCy's shared vocabulary, and nothing is
        ever removed: past this size, rebuild with `renewed()` to let the old one go."""
        return len(self.nlp.vocab) > MAX_VOCABULARY

    def renewed(self) -> Engine:
        """The same engine on a fresh vocabulary (a full build)."""
        return Engine(self.all_rules, self.pipeline, self.disabled, fresh_vocabulary=True)

    @property
    def component(self) -> EmpathyRules:
        """The main compiled component (the last full build)."""
        return self.components[0][0]

    def _match(self, doc: Doc, role: str | None = None) -> list[tuple[str, int, int]]:
        found = []
        for component, ignored in self.components:
            for key, start, end in component.match(doc, role):
                if key not in ignored:
                    found.append((key, start, end))
        if len(self.components) > 1:
            found.sort(key=lambda match: (match[1], match[2]))
        return found

    def __len__(self) -> int:
        return len(self.rules)

    def visible(self, rule: Rule, team: str | None) -> bool:
        """Does this rule apply to an agent of this team (None: no team)?"""
        if rule.team is not None:
            return rule.team == team
        return team is None or rule.id not in self._hidden.get(team, ())

    def rule(self, rule_id: str, team: str | None = None) -> Rule | None:
        """The rule with this id as the team sees it (its own version, else the global one)."""
        own = self.rules.get(f"{rule_id}@{team}") if team else None
        if own is not None:
            return own
        rule = self.rules.get(rule_id)
        return rule if rule is not None and self.visible(rule, team) else None

    # -- single texts -------------------------------------------------------------------

    def _doc(self, text: str) -> Doc:
        text = _tame(text[:MAX_TEXT_CHARS])
        return self.nlp(text) if self.trained else self.nlp.make_doc(text)

    def _matches(self, text: str | Doc, role: str, team: str | None) -> list[Match]:
        doc = text if isinstance(text, Doc) else self._doc(text)
        found = []
        for key, start, end in self._match(doc, role):
            rule = self.rules[key]
            if rule.role == role and self.visible(rule, team):
                span = doc[start:end]
                found.append((rule, span.start_char, span.end_char, span.text))
        return found

    def matching_rules(self, text: str) -> set[str]:
        """Keys of every rule, of any role and team, that matches (for checking examples)."""
        return {key for key, _, _ in self._match(self._doc(text))}

    def spans(self, text: str) -> list[tuple[str, int, int, str]]:
        """(rule key, start char, end char, matched text) for every rule of any role."""
        doc = self._doc(text)
        return [
            (key, doc[start:end].start_char, doc[start:end].end_char, doc[start:end].text)
            for key, start, end in self._match(doc)
        ]

    def analyse(
        self, text: str | Doc, context: Context | None = None, team: str | None = None
    ) -> list[Finding]:
        """Agent-side rules over one draft or reply (the team's view: `team` or the context's)."""
        team = team if team is not None else (context.team if context else None)
        matches = self._matches(text, "agent", team)
        if not matches:
            return []
        values = _slot_values(context)
        offers = self._offers(context, team) if context else []
        return [
            _finding(rule, start, end, matched, values, empowered=offers)
            for rule, start, end, matched in matches
        ]

    def feelings(self, text: str, team: str | None = None) -> list[Finding]:
        """Feelings in one customer message; the category names the feeling."""
        found = []
        quotes = Quotes(text)
        for rule, start, end, matched in self._matches(text, "customer", team):
            quote = quotes.around(start, end)
            found.append(_finding(rule, start, end, matched, SlotValues(quote=quote)))
        return found

    def acknowledgements(self, text: str | Doc, team: str | None = None) -> set[str]:
        """The feelings an agent's text acknowledges ('any' for a general acknowledgement)."""
        return {rule.category for rule, *_ in self._matches(text, "acknowledgement", team)}

    def situations(self, text: str | Doc, team: str | None = None) -> list[str]:
        """Keys of the team's empowerment entries whose situations this text describes."""
        return [rule.key for rule, *_ in self._matches(text, "empowerment", team)]

    # -- conversations ------------------------------------------------------------------

    def observe_customer(self, context: Context, text: str) -> list[Finding]:
        context.customer_messages += 1
        found = self.feelings(text, context.team)
        quotes = Quotes(text)
        for finding in _one_per_feeling(found):
            quote = quotes.around(finding.start, finding.end)
            worded = any(ch.isalpha() for ch in finding.text)
            context.pending.append(
                PendingFeeling(
                    finding.rule, finding.category, quote, context.customer_messages, worded
                )
            )
        context.forget_old_feelings()
        context.thing = thing_mentioned(text) or context.thing
        for key in self.situations(text, context.team):
            if key not in context.situations:
                context.situations.append(key)
        return found

    def observe_agent(self, context: Context, text: str) -> None:
        context.agent_messages += 1
        context.acknowledge(self.acknowledgements(text, context.team))
        context.name_used = context.name_used or context.mentions_name(text)
        for *_, sentence in sentences(text):
            if len(sentence.split()) >= MIN_REPEAT_WORDS and sentence not in context.sent_sentences:
                context.sent_sentences.append(sentence)

    def review(self, draft: str, context: Context) -> list[Finding]:
        """Everything worth saying about a draft in this conversation."""
        doc = self._doc(draft)  # tokenized once for every rule role below
        findings = self.analyse(doc, context)
        if len(draft.split()) < MIN_DRAFT_WORDS_FOR_CONTEXT:
            return findings
        findings += self._unacknowledged(doc, context)
        findings += self._name_unused(draft, context)
        findings += self._repeated(draft, context)
        return findings

    def waiting_nudge(self, context: Context, waited_seconds: float) -> Finding | None:
        rule = self.rule(WAITING, context.team)
        if rule is None:
            return None
        values = _slot_values(context, waited=_duration(waited_seconds))
        return _finding(rule, 0, 0, "", values)

    def _offers(self, context: Context, team: str | None) -> list[str]:
        """What the team may offer without asking, for the situations this customer is in
        (entries without situations apply to every conversation)."""
        offers = []
        for rule in self.rules.values():
            if rule.role != "empowerment" or not self.visible(rule, team):
                continue
            if rule.key in context.situations or not (rule.patterns or rule.tokens):
                offers.append(rule.message)
        return offers

    def _unacknowledged(self, draft: Doc, context: Context) -> list[Finding]:
        rule = self.rule(UNACKNOWLEDGED, context.team)
        if rule is None or not context.pending:
            return []
        acknowledged = self.acknowledgements(draft, context.team)
        waiting = [p for p in context.pending if p.category not in acknowledged]
        if not waiting or "any" in acknowledged:
            return []
        # Quote the customer's words, not a "!!": prefer the latest feeling said in words.
        worded = [p for p in waiting if p.worded]
        feeling = (worded or waiting)[-1]
        values = _slot_values(context, quote=feeling.quote)
        finding = _finding(rule, 0, 0, "", values, category=feeling.category)
        own = self.rule(feeling.rule, context.team)
        extra = [fill(s, values) for s in own.suggestions] if own else []
        return [replace(finding, suggestions=_unique(extra + finding.suggestions))]

    def _name_unused(self, draft: str, context: Context) -> list[Finding]:
        rule = self.rule(NAME_UNUSED, context.team)
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
        rule = self.rule(REPEATED, context.team)
        if rule is None:
            return []
        return [
            _finding(rule, start, end, draft[start:end], _slot_values(context))
            for start, end, sentence in sentences(draft)
            if len(sentence.split()) >= MIN_REPEAT_WORDS and sentence in context.sent_sentences
        ]


def _same_matching(old: Rule | None, new: Rule | None) -> bool:
    """Would these two versions of a rule match the same spans? (A reworded message or
    new examples need no recompile: findings read the current rule.)"""
    if old is None or new is None:
        return old is new
    fields = ("role", "team", "patterns", "tokens", "exceptions", "scope")
    return all(getattr(old, f) == getattr(new, f) for f in fields)


def _slot_values(context: Context | None, **extra: str) -> SlotValues:
    if context is None:
        return SlotValues(**extra)
    return SlotValues(name=context.first_name, thing=context.thing, **extra)


_LONG_RUN = re.compile(rf"\S{{{MAX_RUN_CHARS + 1},}}")


def _tame(text: str) -> str:
    """Blank out runs of non-space characters too long to be words ("!!!!…", pasted
    base64): spaCy's tokenizer is quadratic on them, and they hold nothing to coach.
    Same length, so every character offset still points into the original text."""
    return (
        _LONG_RUN.sub(lambda run: " " * len(run.group()), text)
        if len(text) > MAX_RUN_CHARS
        else text
    )


def _one_per_feeling(findings: list[Finding]) -> list[Finding]:
    """A message's strongest sign of each feeling: words before punctuation, first first."""
    chosen: dict[str, Finding] = {}
    for finding in findings:
        best = chosen.get(finding.category)
        worded = any(ch.isalpha() for ch in finding.text)
        if best is None or (worded and not any(ch.isalpha() for ch in best.text)):
            chosen[finding.category] = finding
    return list(chosen.values())


def _finding(
    rule: Rule,
    start: int,
    end: int,
    text: str,
    values: SlotValues,
    category: str | None = None,
    empowered: list[str] | None = None,
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
        # Question 3 and 5 ask "is there something I can do?": show what this team may offer.
        empowered=list(empowered or []) if rule.question in (3, 5) else [],
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} seconds"
    return f"{round(seconds / 60)} minutes"
