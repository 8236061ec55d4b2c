"""Retention: delete conversations older than a number of days with everything attached.

A conversation is old when it started before the cut-off and no message of it was sent since
(a conversation still going on is kept whole). Deleted with it: its messages and their findings,
its nudges and their feedback, coaching notes. Peer examples made from its messages stay (the
trainer saved their own text); they only lose the link to the message. Deleted a page of
conversations per transaction, so a large purge never holds one huge transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from assistant.storage import audit
from assistant.storage.models import (
    CoachingNote,
    Conversation,
    Feedback,
    Message,
    MessageFinding,
    Nudge,
    PeerExample,
)

PAGE = 500


@dataclass
class PurgeReport:
    cutoff: datetime
    conversations: int = 0
    messages: int = 0
    findings: int = 0
    nudges: int = 0
    feedback: int = 0
    coaching_notes: int = 0
    peer_examples_kept: int = 0  # examples whose source message went

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "cutoff"}


def cutoff_for(days: float, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)


def _old(cutoff: datetime):
    recent = exists().where(Message.conversation_id == Conversation.id, Message.sent_at >= cutoff)
    return select(Conversation.id).where(Conversation.created_at < cutoff, ~recent)


def purge(
    sessions: sessionmaker[Session], days: float, *, dry_run: bool = False, actor: str = "cli"
) -> PurgeReport:
    """Delete (or with dry_run, count) what is older than `days` days; audit-logged (counts)."""
    report = PurgeReport(cutoff_for(days))
    if dry_run:
        with sessions() as session:
            _count(session, report)
        return report
    while True:
        with sessions.begin() as session:
            ids = list(session.scalars(_old(report.cutoff).order_by(Conversation.id).limit(PAGE)))
            if not ids:
                break
            _delete(session, ids, report)
    if report.conversations:
        with sessions.begin() as session:
            details = {"older_than_days": days, "cutoff": report.cutoff.isoformat()}
            audit.record(
                session, "transcripts.purge", actor=actor, details={**details, **report.counts()}
            )
    return report


def _count(session: Session, report: PurgeReport) -> None:
    old = _old(report.cutoff).scalar_subquery()
    messages = select(Message.id).where(Message.conversation_id.in_(old)).scalar_subquery()
    nudges = select(Nudge.id).where(Nudge.conversation_id.in_(old)).scalar_subquery()

    def count(model, *where) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    report.conversations = count(Conversation, Conversation.id.in_(old))
    report.messages = count(Message, Message.conversation_id.in_(old))
    report.findings = count(MessageFinding, MessageFinding.message_id.in_(messages))
    report.nudges = count(Nudge, Nudge.conversation_id.in_(old))
    report.feedback = count(Feedback, Feedback.nudge_id.in_(nudges))
    report.coaching_notes = count(CoachingNote, CoachingNote.conversation_id.in_(old))
    report.peer_examples_kept = count(PeerExample, PeerExample.message_id.in_(messages))


def _delete(session: Session, ids: list[int], report: PurgeReport) -> None:
    """Children first, so it works whatever the foreign keys do on delete."""
    messages = select(Message.id).where(Message.conversation_id.in_(ids)).scalar_subquery()
    nudges = select(Nudge.id).where(Nudge.conversation_id.in_(ids)).scalar_subquery()
    report.peer_examples_kept += _rows(
        session,
        update(PeerExample).where(PeerExample.message_id.in_(messages)).values(message_id=None),
    )
    report.coaching_notes += _rows(
        session,
        delete(CoachingNote).where(
            CoachingNote.conversation_id.in_(ids) | CoachingNote.message_id.in_(messages)
        ),
    )
    report.feedback += _rows(session, delete(Feedback).where(Feedback.nudge_id.in_(nudges)))
    report.nudges += _rows(session, delete(Nudge).where(Nudge.conversation_id.in_(ids)))
    report.findings += _rows(
        session, delete(MessageFinding).where(MessageFinding.message_id.in_(messages))
    )
    report.messages += _rows(session, delete(Message).where(Message.conversation_id.in_(ids)))
    report.conversations += _rows(session, delete(Conversation).where(Conversation.id.in_(ids)))


def _rows(session: Session, statement) -> int:
    return session.execute(statement, execution_options={"synchronize_session": False}).rowcount
