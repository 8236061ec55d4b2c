"""The dashboard's numbers, for one team (or every team) or one agent, over a date range.

Times are UTC; a day is a UTC calendar day and a week starts on Monday. Counting happens in the
database (grouped by day); only the waiting times are worked out here, streaming one team's
messages in order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, distinct, func, select
from sqlalchemy.orm import Session

from assistant.storage.models import (
    Conversation,
    Feedback,
    LexiconRevision,
    Message,
    Nudge,
    Team,
)
from assistant.storage.times import as_utc

ACTIONS = ("applied", "dismissed", "unhelpful")
TOP_RULES = 8  # rules drawn one by one; the rest are summed as "other rules"
OTHER = "other rules"
# Customer waiting time buckets (upper bounds in seconds; the last one is open-ended).
WAIT_BUCKETS = ((15, "< 15 s"), (30, "15–30 s"), (60, "30–60 s"), (120, "1–2 min"))
WAIT_BUCKETS += ((300, "2–5 min"), (600, "5–10 min"), (None, "≥ 10 min"))
WAIT_SAMPLE = 10_000  # conversations whose waiting times are counted, at most (then sampled)
CHANGE_DAYS = 14  # before/after window on each side of a rule's last revision


@dataclass(frozen=True)
class Scope:
    """Whose numbers: one team (team_id), one agent (agent_id), or everyone (neither)."""

    start: date
    end: date  # inclusive
    team_id: int | None = None
    agent_id: int | None = None

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def until(self) -> datetime:  # exclusive
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)


def _scoped(query: Select, scope: Scope, conversation_id: Any) -> Select:
    """Restrict a query (already selecting from a table with a conversation id) to the scope."""
    if scope.team_id is None and scope.agent_id is None:
        return query
    query = query.join(Conversation, Conversation.id == conversation_id)
    if scope.team_id is not None:
        query = query.where(Conversation.team_id == scope.team_id)
    if scope.agent_id is not None:
        query = query.where(Conversation.agent_id == scope.agent_id)
    return query


def _day(session: Session, column: Any) -> ColumnElement[str]:
    """The UTC calendar day of a timestamp, as 'YYYY-MM-DD' text, on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", column)  # SQLite stores UTC text


# --- buckets (days or weeks) ------------------------------------------------------------------


def bucket_of(day: date, by: str) -> date:
    return day - timedelta(days=day.weekday()) if by == "week" else day


def buckets(scope: Scope, by: str) -> list[date]:
    first, last = bucket_of(scope.start, by), bucket_of(scope.end, by)
    step = timedelta(days=7 if by == "week" else 1)
    out = []
    while first <= last:
        out.append(first)
        first += step
    return out


# --- nudges over time ---------------------------------------------------------------------------


@dataclass
class Series:
    labels: list[date]
    lines: dict[str, list[int]] = field(default_factory=dict)

    def total(self) -> int:
        return sum(sum(values) for values in self.lines.values())


def nudges_over_time(session: Session, scope: Scope, by: str) -> tuple[Series, Series]:
    """Nudges shown per bucket: (per checklist question 1-5, per rule: the TOP_RULES most
    frequent in the range, the rest summed as OTHER)."""
    day = _day(session, Nudge.shown_at)
    query = (
        select(day, Nudge.question, Nudge.rule, func.count(Nudge.id))
        .where(Nudge.shown_at >= scope.since, Nudge.shown_at < scope.until)
        .group_by(day, Nudge.question, Nudge.rule)
    )
    rows = session.execute(_scoped(query, scope, Nudge.conversation_id)).all()
    labels = buckets(scope, by)
    index = {label: i for i, label in enumerate(labels)}
    by_question = Series(labels, {f"Q{q}": [0] * len(labels) for q in range(1, 6)})
    per_rule: Counter[str] = Counter()
    for _, _, rule, count in rows:
        per_rule[rule] += count
    ranked = sorted(per_rule.items(), key=lambda pair: (-pair[1], pair[0]))  # ties: by name
    top = [rule for rule, _ in ranked[:TOP_RULES]]
    by_rule = Series(labels, {rule: [0] * len(labels) for rule in top})
    if len(per_rule) > len(top):
        by_rule.lines[OTHER] = [0] * len(labels)
    for day_text, question, rule, count in rows:
        slot = index.get(bucket_of(date.fromisoformat(str(day_text)), by))
        if slot is None:
            continue
        by_question.lines.setdefault(f"Q{question}", [0] * len(labels))[slot] += count
        by_rule.lines[rule if rule in by_rule.lines else OTHER][slot] += count
    return by_question, by_rule


# --- what agents did with nudges ------------------------------------------------------------------


@dataclass
class Rates:
    """Nudges shown and how many of them got each action, per checklist question and overall."""

    shown: dict[str, int] = field(default_factory=dict)
    acted: dict[str, dict[str, int]] = field(default_factory=dict)

    def rate(self, group: str, action: str) -> float:
        shown = self.shown.get(group, 0)
        return self.acted.get(group, {}).get(action, 0) / shown if shown else 0.0


def feedback_rates(session: Session, scope: Scope) -> Rates:
    """Of the nudges shown in the range, the share applied / dismissed / marked not helpful
    (a nudge counts once per action however often the agent clicked)."""
    in_range = (Nudge.shown_at >= scope.since, Nudge.shown_at < scope.until)
    shown_q = select(Nudge.question, func.count(Nudge.id)).where(*in_range).group_by(Nudge.question)
    acted_q = (
        select(Nudge.question, Feedback.action, func.count(distinct(Nudge.id)))
        .join(Feedback, Feedback.nudge_id == Nudge.id)
        .where(*in_range)
        .group_by(Nudge.question, Feedback.action)
    )
    rates = Rates()
    for question, count in session.execute(_scoped(shown_q, scope, Nudge.conversation_id)):
        rates.shown[f"Q{question}"] = count
        rates.shown["all"] = rates.shown.get("all", 0) + count
    for question, action, count in session.execute(_scoped(acted_q, scope, Nudge.conversation_id)):
        if action not in ACTIONS:
            continue
        for group in (f"Q{question}", "all"):
            acted = rates.acted.setdefault(group, dict.fromkeys(ACTIONS, 0))
            acted[action] += count
    return rates


# --- customer waiting times ----------------------------------------------------------------------


@dataclass
class Waits:
    counts: list[int]  # one per WAIT_BUCKETS entry
    unanswered: int  # customers still waiting (no agent message after theirs in the range)
    conversations: int = 0  # conversations started in the range
    every: int = 1  # 1: all of them; n: a sample of one conversation in n (by id)

    @property
    def labels(self) -> list[str]:
        return [label for _, label in WAIT_BUCKETS]

    def total(self) -> int:
        return sum(self.counts)


def waiting_times(session: Session, scope: Scope, sample: int = WAIT_SAMPLE) -> Waits:
    """Time from a customer's message to the next agent message: from the first of the
    customer's unanswered messages (as the live waiting nudge counts it), per answer, in the
    conversations started in the range (found through the index on their start, rather than a
    scan of every message's time).

    Worked out in the database (window functions: SQLite 3.25+, PostgreSQL): a conversation's
    messages are cut into segments at each agent message; a segment's first customer message and
    its agent message are one wait. Past `sample` conversations, a systematic sample (one in n,
    by id) keeps the page quick: the chart is about the shape of the distribution."""
    started = [Conversation.created_at >= scope.since, Conversation.created_at < scope.until]
    if scope.team_id is not None:
        started.append(Conversation.team_id == scope.team_id)
    if scope.agent_id is not None:
        started.append(Conversation.agent_id == scope.agent_id)
    total = session.scalar(select(func.count(Conversation.id)).where(*started)) or 0
    every = -(-total // sample) if total > sample else 1
    if every > 1:
        started.append(Conversation.id % every == 0)
    is_agent = case((Message.author == "agent", 1), else_=0)
    agents_through = func.sum(is_agent).over(
        partition_by=Message.conversation_id,
        order_by=(Message.sent_at, Message.id),
        rows=(None, 0),
    )
    query = (
        select(
            Message.conversation_id.label("conversation_id"),
            Message.author.label("author"),
            Message.sent_at.label("sent_at"),
            (agents_through - is_agent).label("segment"),  # agent messages before this one
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(*started)
    )
    ordered = query.subquery()
    first_customer = func.min(case((ordered.c.author == "customer", ordered.c.sent_at)))
    answer = func.min(case((ordered.c.author == "agent", ordered.c.sent_at)))
    segments = (
        select(first_customer.label("asked"), answer.label("answered"))
        .group_by(ordered.c.conversation_id, ordered.c.segment)
        .subquery()
    )
    waits_q = (  # seconds from the first unanswered customer message to the answer (or None)
        select(_seconds_between(session, segments.c.asked, segments.c.answered).label("s"))
        .where(segments.c.asked.is_not(None))
        .subquery()
    )
    bucket = case(
        (waits_q.c.s.is_(None), -1),
        *[(waits_q.c.s < bound, i) for i, (bound, _) in enumerate(WAIT_BUCKETS) if bound],
        else_=len(WAIT_BUCKETS) - 1,
    )
    counted = select(bucket, func.count()).select_from(waits_q).group_by(bucket)
    waits = Waits([0] * len(WAIT_BUCKETS), 0, total, every)
    for index, count in session.execute(counted):
        if index == -1:
            waits.unanswered = count
        else:
            waits.counts[index] = count
    return waits


def _seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    # Rounded to the millisecond: julianday's floating point makes 120 s come out as 119.99999.
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)


# --- before/after a rule's change -------------------------------------------------------------


def changed_rules(session: Session, team: str | None) -> list[str]:
    """Rule keys with a revision, most recently changed first, that the scope's readers may see:
    global rules and the team's own ("id@team"); every key for team=None."""
    last = func.max(LexiconRevision.created_at)
    keys = session.scalars(
        select(LexiconRevision.rule_key)
        .group_by(LexiconRevision.rule_key)
        .order_by(last.desc(), LexiconRevision.rule_key)
    )
    return [k for k in keys if "@" not in k or team is None or k.endswith("@" + team)]


@dataclass
class RuleChange:
    rule_key: str
    changed_at: datetime
    action: str
    actor: str
    days: list[date]
    nudges: list[int]
    conversations: list[int]

    @property
    def rates(self) -> list[float]:
        """Nudges of the rule per conversation started that day."""
        return [n / c if c else 0.0 for n, c in zip(self.nudges, self.conversations, strict=True)]

    def summary(self, after: bool) -> tuple[int, int, float]:
        """(nudges, conversations, nudges per conversation) before or after the change."""
        cut = self.changed_at.date()
        picked = [i for i, d in enumerate(self.days) if (d >= cut) == after]
        nudges = sum(self.nudges[i] for i in picked)
        conversations = sum(self.conversations[i] for i in picked)
        return nudges, conversations, nudges / conversations if conversations else 0.0

    @property
    def split(self) -> int:
        """Index of the first day on or after the change."""
        cut = self.changed_at.date()
        return next((i for i, d in enumerate(self.days) if d >= cut), len(self.days))


def rule_change(session: Session, scope: Scope, rule_key: str, today: date) -> RuleChange | None:
    """The rule's nudge rate per conversation, day by day, CHANGE_DAYS before and after its last
    revision (the scope's team or agent; the date range does not apply)."""
    revision = session.scalars(
        select(LexiconRevision)
        .where(LexiconRevision.rule_key == rule_key)
        .order_by(LexiconRevision.created_at.desc(), LexiconRevision.id.desc())
        .limit(1)
    ).first()
    if revision is None:
        return None
    changed_at = as_utc(revision.created_at)
    first = changed_at.date() - timedelta(days=CHANGE_DAYS)
    last = min(changed_at.date() + timedelta(days=CHANGE_DAYS - 1), today)
    rule, _, owner = rule_key.partition("@")  # nudges carry the rule's id; "id@team": a team's
    team_id = scope.team_id
    if owner and team_id is None and scope.agent_id is None:
        # Every team's view of a team's rule: only that team's nudges and conversations (the
        # other teams' nudges of the same id come from their own or the global rule).
        team_id = session.scalar(select(Team.id).where(Team.name == owner)) or -1
    window = Scope(first, last, team_id, scope.agent_id)
    days = buckets(window, "day")
    nudge_day = _day(session, Nudge.shown_at)
    nudges_q = (
        select(nudge_day, func.count(Nudge.id))
        .where(Nudge.rule == rule, Nudge.shown_at >= window.since, Nudge.shown_at < window.until)
        .group_by(nudge_day)
    )
    conv_day = _day(session, Conversation.created_at)
    conversations_q = (
        select(conv_day, func.count(Conversation.id))
        .where(Conversation.created_at >= window.since, Conversation.created_at < window.until)
        .group_by(conv_day)
    )
    if window.team_id is not None:
        conversations_q = conversations_q.where(Conversation.team_id == window.team_id)
    if window.agent_id is not None:
        conversations_q = conversations_q.where(Conversation.agent_id == window.agent_id)
    nudges = {
        str(d): n for d, n in session.execute(_scoped(nudges_q, window, Nudge.conversation_id))
    }
    started = {str(d): n for d, n in session.execute(conversations_q)}
    return RuleChange(
        rule_key,
        changed_at,
        revision.action,
        revision.actor,
        days,
        [nudges.get(d.isoformat(), 0) for d in days],
        [started.get(d.isoformat(), 0) for d in days],
    )
