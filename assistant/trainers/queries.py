"""Queries behind the trainers' pages: the flagged-transcripts list (filters, keyset pages) and
one conversation's replay (messages, nudges, findings, notes, waiting times).

"Flagged" means the conversation has a nudge, or a finding on one of the agent's sent messages
(imported conversations have findings but no nudges). Every query takes a `Scope`, so a page
never reads a conversation its viewer may not see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, selectinload

from assistant.storage.models import (
    CoachingNote,
    Conversation,
    Feedback,
    Message,
    MessageFinding,
    Nudge,
    Team,
    User,
)
from assistant.storage.times import as_utc

PAGE_SIZE = 50
OUTCOMES = {
    "applied": "nudge applied",
    "dismissed": "dismissed / not helpful",
    "rewritten": "rewritten",
    "sent-anyway": "sent anyway",
}
SEVERITIES = ("info", "suggestion", "warning")


@dataclass(frozen=True)
class Scope:
    """Which conversations a viewer may read: one team's (team_id), one agent's own
    (agent_id), or every team's (both None)."""

    team_id: int | None = None
    agent_id: int | None = None

    def clause(self) -> ColumnElement[bool]:
        conditions = []
        if self.team_id is not None:
            conditions.append(Conversation.team_id == self.team_id)
        if self.agent_id is not None:
            conditions.append(Conversation.agent_id == self.agent_id)
        return and_(true(), *conditions)


@dataclass
class Filters:
    """The list's filters as typed values; `parse` turns query-string text into them and
    collects a readable problem for each bad value instead of failing."""

    agent: str = ""
    team: str = ""
    since: date | None = None
    until: date | None = None
    question: int | None = None
    rule: str = ""
    severity: str = ""
    outcome: str = ""
    q: str = ""
    problems: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, args: Any) -> Filters:
        found = cls(
            agent=_text(args, "agent", 200),
            team=_text(args, "team", 100),
            rule=_text(args, "rule", 100),
            q=_text(args, "q", 200),
        )
        found.since = found._date(args, "since")
        found.until = found._date(args, "until")
        question = args.get("question", "").strip()
        if question:
            if question in {"1", "2", "3", "4", "5"}:
                found.question = int(question)
            else:
                found.problems.append("Checklist question must be 1 to 5.")
        found.severity = found._choice(args, "severity", SEVERITIES)
        found.outcome = found._choice(args, "outcome", tuple(OUTCOMES))
        return found

    def _date(self, args: Any, name: str) -> date | None:
        value = args.get(name, "").strip()
        if not value:
            return None
        try:
            day = date.fromisoformat(value)
            day + timedelta(days=1)  # the list filters up to the next midnight: must exist
            return day
        except (ValueError, OverflowError):
            self.problems.append(f"{name.title()}: use a date like 2026-01-31.")
            return None

    def _choice(self, args: Any, name: str, allowed: tuple[str, ...]) -> str:
        value = args.get(name, "").strip()
        if value and value not in allowed:
            self.problems.append(f"{name.title()} must be one of: {', '.join(allowed)}.")
            return ""
        return value

    def as_args(self) -> dict[str, str]:
        """The filters as query-string values (for the next-page link)."""
        values = {
            "agent": self.agent,
            "team": self.team,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "question": str(self.question or ""),
            "rule": self.rule,
            "severity": self.severity,
            "outcome": self.outcome,
            "q": self.q,
        }
        return {k: v for k, v in values.items() if v}


def _text(args: Any, name: str, limit: int) -> str:
    return str(args.get(name, "")).strip()[:limit]


# --- the list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRow:
    id: int
    external_id: str
    team: str
    agent: str
    created_at: datetime
    source: str
    messages: int
    nudges: int
    findings: int
    rules: list[str]


def flagged_page(
    session: Session, scope: Scope, filters: Filters, after: str = "", size: int = PAGE_SIZE
) -> tuple[list[ListRow], str]:
    """One page of flagged conversations, newest first, and the cursor of the next page ("" on
    the last). Keyset pagination on (created_at, id): every page costs the same."""
    query = flagged_ids_query(session, scope, filters)
    cursor = decode_cursor(after)
    if cursor is not None:
        query = query.where(tuple_(Conversation.created_at, Conversation.id) < cursor)
    found = session.execute(query.limit(size + 1)).all()
    more = len(found) > size
    found = found[:size]
    rows = describe(session, [row.id for row in found])
    following = encode_cursor(found[-1].created_at, found[-1].id) if more else ""
    return rows, following


def flagged_ids_query(session: Session, scope: Scope, filters: Filters) -> Select:
    """SELECT id, created_at of the flagged conversations matching the filters, newest first."""
    query = select(Conversation.id, Conversation.created_at).where(scope.clause())
    query = query.where(_flag_clause(filters))
    if filters.team:
        query = query.join(Team, Team.id == Conversation.team_id).where(Team.name == filters.team)
    if filters.agent:
        # Agent ids first, so both sides of the OR can use an index (agent_id, agent_name).
        agents = list(session.scalars(select(User.id).where(User.name == filters.agent)))
        query = query.where(
            or_(Conversation.agent_id.in_(agents), Conversation.agent_name == filters.agent)
        )
    if filters.since:
        query = query.where(Conversation.created_at >= _day_start(filters.since))
    if filters.until:
        query = query.where(Conversation.created_at < _day_start(filters.until + timedelta(1)))
    if filters.q:
        query = query.where(_text_matches(session, filters.q))
    return query.order_by(Conversation.created_at.desc(), Conversation.id.desc())


def _flag_clause(filters: Filters) -> ColumnElement[bool]:
    """A nudge (or an agent-message finding) matching rule/question/severity/outcome together.

    Without a rule, most conversations qualify: a correlated EXISTS walked in created_at order
    stops after one page. A rule can be rare: then the few matching conversation ids are
    collected first (ix_nudges_rule, ix_message_findings_rule), which stays cheap however rare
    (docs/benchmarks.md, "Trainers' list")."""
    nudge: list[ColumnElement[bool]] = [*_outcome(filters.outcome)]
    finding: list[ColumnElement[bool]] = [Message.author == "agent"]
    for column, kind, value in (
        ("rule", str, filters.rule),
        ("question", int, filters.question),
        ("severity", str, filters.severity),
    ):
        if value:
            nudge.append(getattr(Nudge, column) == kind(value))
            finding.append(getattr(MessageFinding, column) == kind(value))
    found = select(Message.conversation_id).join(
        MessageFinding, MessageFinding.message_id == Message.id
    )
    if filters.rule:
        nudged_ids = select(Nudge.conversation_id).where(*nudge)
        if filters.outcome:  # only nudges have an outcome
            return Conversation.id.in_(nudged_ids)
        found_ids = found.where(*finding)
        return or_(Conversation.id.in_(nudged_ids), Conversation.id.in_(found_ids))
    nudged = select(Nudge.id).where(Nudge.conversation_id == Conversation.id, *nudge)
    if filters.outcome:
        return nudged.exists()
    # One EXISTS over a UNION ALL, not EXISTS OR EXISTS: PostgreSQL turns the OR into two
    # hashed subplans that read every nudge and finding before the first row (0.5 s at 100k).
    found = found.with_only_columns(Message.id)
    return union_all(
        nudged, found.where(Message.conversation_id == Conversation.id, *finding)
    ).exists()


def _outcome(outcome: str) -> list[ColumnElement[bool]]:
    def feedback(*actions: str) -> ColumnElement[bool]:
        return exists().where(Feedback.nudge_id == Nudge.id, Feedback.action.in_(actions))

    if outcome == "applied":
        return [feedback("applied")]
    if outcome == "dismissed":
        return [feedback("dismissed", "unhelpful")]
    if outcome == "rewritten":
        return [Nudge.survived.is_(False), ~feedback("applied")]
    if outcome == "sent-anyway":
        return [Nudge.survived.is_(True)]
    return []


def _text_matches(session: Session, q: str) -> ColumnElement[bool]:
    """A message of the conversation matches q. PostgreSQL: full-text (every word; the GIN
    index of migration 0004 finds the few matching messages first). SQLite: a case-insensitive
    substring, checked per conversation in list order, so a common word stops after one page
    and only a rare one scans (docs/benchmarks.md)."""
    if session.get_bind().dialect.name == "postgresql":
        # Written exactly as the index expression (models.Message), so the planner uses it.
        config = literal_column("'simple'::regconfig")
        vector = func.to_tsvector(config, Message.text)
        match = vector.op("@@")(func.plainto_tsquery(config, q))
        return Conversation.id.in_(select(Message.conversation_id).where(match))
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return exists().where(
        Message.conversation_id == Conversation.id, Message.text.ilike(pattern, escape="\\")
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def encode_cursor(created_at: datetime, conversation_id: int) -> str:
    return f"{as_utc(created_at).isoformat()}~{conversation_id}"


def decode_cursor(text: str) -> tuple[datetime, int] | None:
    """The (created_at, id) a cursor names; None for no cursor or a malformed one (first page)."""
    stamp, _, number = text.partition("~")
    try:
        return as_utc(datetime.fromisoformat(stamp)), int(number)
    except ValueError:
        return None


def describe(session: Session, ids: list[int]) -> list[ListRow]:
    """What the list shows for these conversations, in the order given (a few grouped queries,
    one per column, never one per row)."""
    if not ids:
        return []
    heads = {
        row.id: row
        for row in session.execute(
            select(
                Conversation.id,
                Conversation.external_id,
                Conversation.created_at,
                Conversation.source,
                Conversation.agent_name,
                Team.name.label("team"),
                User.name.label("agent"),
            )
            .join(Team, Team.id == Conversation.team_id)
            .outerjoin(User, User.id == Conversation.agent_id)
            .where(Conversation.id.in_(ids))
        )
    }
    messages = _counts(session, Message.conversation_id, Message.id, ids)
    nudges = _counts(session, Nudge.conversation_id, Nudge.id, ids)
    found = session.execute(
        select(Message.conversation_id, MessageFinding.rule)
        .join(Message, Message.id == MessageFinding.message_id)
        .where(Message.conversation_id.in_(ids), Message.author == "agent")
    ).all()
    nudged = session.execute(
        select(Nudge.conversation_id, Nudge.rule).where(Nudge.conversation_id.in_(ids))
    ).all()
    rules: dict[int, set[str]] = {}
    for conversation_id, rule in [*nudged, *found]:
        rules.setdefault(conversation_id, set()).add(rule)
    findings: dict[int, int] = {}
    for conversation_id, _ in found:
        findings[conversation_id] = findings.get(conversation_id, 0) + 1
    return [
        ListRow(
            id=i,
            external_id=heads[i].external_id,
            team=heads[i].team,
            agent=heads[i].agent or heads[i].agent_name or "—",
            created_at=as_utc(heads[i].created_at),
            source=heads[i].source,
            messages=messages.get(i, 0),
            nudges=nudges.get(i, 0),
            findings=findings.get(i, 0),
            rules=sorted(rules.get(i, ())),
        )
        for i in ids
        if i in heads
    ]


def _counts(session: Session, key: Any, counted: Any, ids: list[int]) -> dict[int, int]:
    query = select(key, func.count(counted)).where(key.in_(ids)).group_by(key)
    return {key: count for key, count in session.execute(query)}


def choices(session: Session, scope: Scope) -> dict[str, list[str]]:
    """Teams and agent names for the filter suggestions, within the viewer's scope."""
    teams = select(Team.name).order_by(Team.name)
    agents = select(User.name).where(User.role == "agent").distinct().order_by(User.name)
    if scope.team_id is not None:
        teams = teams.where(Team.id == scope.team_id)
        agents = agents.where(User.team_id == scope.team_id)
    return {"teams": list(session.scalars(teams)), "agents": list(session.scalars(agents))}


# --- one conversation -----------------------------------------------------------------------


def conversation_in_scope(session: Session, scope: Scope, conversation_id: int) -> Any:
    """The conversation (with team and agent names), or None when missing or out of scope."""
    query = (
        select(Conversation, Team.name.label("team"), User.name.label("agent"))
        .join(Team, Team.id == Conversation.team_id)
        .outerjoin(User, User.id == Conversation.agent_id)
        .where(Conversation.id == conversation_id, scope.clause())
    )
    return session.execute(query).first()


def nudge_outcome(nudge: Nudge) -> str:
    """What the agent did with a nudge, in the list's vocabulary (plus "no answer yet")."""
    actions = {f.action for f in nudge.feedback}
    if "applied" in actions:
        return "applied"
    if "unhelpful" in actions:
        return "marked not helpful"
    if "dismissed" in actions:
        return "dismissed"
    if nudge.survived is False:
        return "rewritten"
    if nudge.survived is True:
        return "sent anyway"
    return "no answer yet"


def replay_items(session: Session, conversation_id: int) -> list[dict[str, Any]]:
    """The timeline: messages in order (with their nudges, findings, notes and the customer's
    wait before each agent reply) and the nudges no sent message took up, at their time."""
    messages = list(
        session.scalars(
            select(Message)
            .options(selectinload(Message.findings))  # one query, not one per message
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.sent_at, Message.id)
        )
    )
    nudges = list(
        session.scalars(
            select(Nudge)
            .options(selectinload(Nudge.feedback))  # one query, not one per nudge
            .where(Nudge.conversation_id == conversation_id)
            .order_by(Nudge.shown_at)
        )
    )
    notes = list(
        session.scalars(
            select(CoachingNote)
            .where(CoachingNote.conversation_id == conversation_id)
            .order_by(CoachingNote.created_at, CoachingNote.id)
        )
    )
    items = [_message_item(m, nudges, notes) for m in messages]
    items += [_loose_nudge_item(n) for n in nudges if n.message_id is None]
    items.sort(key=lambda item: (item["at"], item["kind"] == "nudge"))
    _add_waits_and_offsets(items)
    return items


def _message_item(message: Message, nudges: list[Nudge], notes: list[CoachingNote]) -> dict:
    own = [n for n in nudges if n.message_id == message.id]
    findings = message.findings if message.author == "agent" else []
    return {
        "kind": "message",
        "id": message.id,
        "author": message.author,
        "at": as_utc(message.sent_at),
        "segments": highlight(message.text, [(f.start, f.end) for f in findings]),
        "text": message.text,
        "nudges": [_nudge_view(n) for n in own],
        "findings": [
            {"rule": f.rule, "question": f.question, "severity": f.severity, "text": f.text}
            for f in findings
        ],
        "notes": [n for n in notes if n.message_id == message.id],
        "flagged": bool(own or findings),
    }


def _loose_nudge_item(nudge: Nudge) -> dict[str, Any]:
    return {
        "kind": "nudge",
        "id": nudge.id,
        "at": as_utc(nudge.shown_at),
        "nudges": [_nudge_view(nudge)],
        "flagged": True,
    }


def _nudge_view(nudge: Nudge) -> dict[str, Any]:
    return {
        "rule": nudge.rule,
        "question": nudge.question,
        "severity": nudge.severity,
        "trigger": nudge.trigger,
        "text": nudge.text,
        "outcome": nudge_outcome(nudge),
    }


def highlight(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """The text cut into (piece, flagged) segments at the findings' offsets (overlaps merged,
    bad offsets ignored), so the template can <mark> the flagged words with autoescaping."""
    cuts: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if not (0 <= start < end <= len(text)):
            continue
        if cuts and start <= cuts[-1][1]:
            cuts[-1] = (cuts[-1][0], max(end, cuts[-1][1]))
        else:
            cuts.append((start, end))
    segments: list[tuple[str, bool]] = []
    position = 0
    for start, end in cuts:
        if start > position:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text) or not segments:
        segments.append((text[position:], False))
    return segments


def _add_waits_and_offsets(items: list[dict[str, Any]]) -> None:
    """offset: seconds since the first item (drives the replay's timing). wait: for an agent
    message, how long the oldest customer message it answers had been waiting."""
    if not items:
        return
    start = items[0]["at"]
    waiting_since: datetime | None = None
    for item in items:
        item["offset"] = max(0.0, (item["at"] - start).total_seconds())
        item["wait"] = None
        if item["kind"] != "message":
            continue
        if item["author"] == "customer":
            waiting_since = waiting_since or item["at"]
        elif waiting_since is not None:
            item["wait"] = max(0.0, (item["at"] - waiting_since).total_seconds())
            waiting_since = None


def message_in_conversation(session: Session, conversation_id: int, message_id: int) -> Any:
    return session.scalar(
        select(Message).where(Message.id == message_id, Message.conversation_id == conversation_id)
    )


def my_notes(session: Session, agent_id: int) -> list[dict[str, Any]]:
    """An agent's own conversations that have coaching notes, newest note first, with the notes
    and the message each is about."""
    rows = session.execute(
        select(CoachingNote, Message, Conversation)
        .join(Message, Message.id == CoachingNote.message_id)
        .join(Conversation, Conversation.id == CoachingNote.conversation_id)
        .where(Conversation.agent_id == agent_id)
        .order_by(CoachingNote.created_at.desc(), CoachingNote.id.desc())
    ).all()
    grouped: dict[int, dict[str, Any]] = {}
    for note, message, conversation in rows:
        entry = grouped.setdefault(
            conversation.id,
            {"conversation": conversation, "created_at": as_utc(conversation.created_at)},
        )
        entry.setdefault("notes", []).append({"note": note, "message": message})
    return list(grouped.values())
