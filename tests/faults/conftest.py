"""Fault tests: real servers (in-process, or gunicorn in a subprocess), real databases, and a
client that behaves like the extension when connections drop (reliable.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, select

from assistant.storage.models import Conversation, Message

TEST_LEXICONS = Path(__file__).resolve().parent.parent / "server" / "lexicons"


def stored_ids(database_url: str, conversation: str) -> Counter:
    """How many rows each client id has in the conversation (exactly once: every count 1)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Message.client_id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.external_id == conversation)
            )
            return Counter(client_id for (client_id,) in rows)
    finally:
        engine.dispose()
