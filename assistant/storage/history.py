"""Reading a conversation back, to rebuild its context after a reconnect or on another worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Conversation, Message, Nudge


@dataclass(frozen=True)
class StoredMessage:
    client_id: str
    author: str
    text: str
    sent_at: datetime


@dataclass(frozen=True)
class History:
    messages: list[StoredMessage]
    last_waiting_nudge_at: datetime | None


def load_history(
    session: Session, team_id: int, external_id: str, limit: int | None = None
) -> History:
    """The conversation's messages, oldest first; with a limit, only the newest `limit`."""
    conversation_id = session.scalar(
        select(Conversation.id).where(
            Conversation.team_id == team_id, Conversation.external_id == external_id
        )
    )
    if conversation_id is None:
        return History([], None)
    rows = session.execute(
        select(Message.client_id, Message.author, Message.text, Message.sent_at)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    last_nudge = session.scalar(
        select(func.max(Nudge.shown_at)).where(
            Nudge.conversation_id == conversation_id, Nudge.trigger == "waiting"
        )
    )
    return History([StoredMessage(*row) for row in reversed(rows)], last_nudge)
