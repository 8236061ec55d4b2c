"""`flask transcripts purge`: old conversations go with everything attached; nothing newer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from assistant.storage.models import (
    AuditEvent,
    CoachingNote,
    Conversation,
    Feedback,
    Message,
    MessageFinding,
    Nudge,
    PeerExample,
    Team,
)

from .conftest import cli_for, make_app

NOW = datetime.now(UTC)


def _conversation(external_id: str, days_ago: float, last_message_days_ago: float | None = None):
    start = NOW - timedelta(days=days_ago)
    last = NOW - timedelta(days=last_message_days_ago if last_message_days_ago else days_ago)
    return {
        "id": external_id,
        "team": "support",
        "started": start.isoformat(),
        "messages": [
            {"id": "1", "role": "customer", "text": "I'm so frustrated!", "ts": start.isoformat()},
            {"id": "2", "role": "agent", "text": "As per our policy, no.", "ts": last.isoformat()},
        ],
    }


def _seed(app, cli, tmp_path: Path) -> dict[str, int]:
    data = {
        "conversations": [
            _conversation("old", 100),
            _conversation("recent", 5),
            _conversation("old-but-active", 100, last_message_days_ago=1),
        ]
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(data))
    assert cli("transcripts", "import", path).exit_code == 0
    ids = {}
    with app.extensions["empathy"].sessions.begin() as session:
        team_id = session.scalar(select(Team.id).where(Team.name == "support"))
        for conversation in session.scalars(select(Conversation)):
            ids[conversation.external_id] = conversation.id
            message_id = session.scalar(
                select(Message.id).where(
                    Message.conversation_id == conversation.id, Message.client_id == "2"
                )
            )
            nudge = Nudge(
                public_id=f"n_{conversation.external_id}",
                conversation_id=conversation.id,
                trigger="draft",
                rule="as-per-policy",
                category="policy",
                question=3,
                severity="warning",
                message_id=message_id,
            )
            session.add(nudge)
            session.flush()
            session.add(Feedback(nudge_id=nudge.id, action="dismissed"))
            session.add(
                CoachingNote(
                    conversation_id=conversation.id,
                    message_id=message_id,
                    author_name="Trainer",
                    body="Say what you can do.",
                )
            )
            session.add(
                PeerExample(
                    team_id=team_id,
                    rule="as-per-policy",
                    text=f"example from {conversation.external_id}",
                    message_id=message_id,
                )
            )
    return ids


def _counts(app) -> dict[str, int]:
    with app.extensions["empathy"].sessions() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Conversation, Message, MessageFinding, Nudge, Feedback, CoachingNote)
        }


def test_purge_deletes_old_conversations_with_everything_attached(app, cli, tmp_path):
    ids = _seed(app, cli, tmp_path)
    before = _counts(app)
    assert before["MessageFinding"] >= 6 and before["Feedback"] == 3

    dry = cli("transcripts", "purge", "--older-than", "30", "--dry-run")
    assert dry.exit_code == 0 and "Would delete" in dry.stdout
    assert "1 conversations, 2 messages" in dry.stdout
    assert _counts(app) == before

    result = cli("transcripts", "purge", "--older-than", "30")
    assert result.exit_code == 0, result.output
    assert "Deleted" in result.stdout and "1 conversations, 2 messages" in result.stdout
    after = _counts(app)
    assert after["Conversation"] == 2 and after["Message"] == 4
    assert after["Nudge"] == after["Feedback"] == after["CoachingNote"] == 2
    with app.extensions["empathy"].sessions() as session:
        kept = set(session.scalars(select(Conversation.external_id)))
        assert kept == {"recent", "old-but-active"}
        assert ids["old"] not in set(session.scalars(select(Message.conversation_id)))
        # The finding rows of the old messages are gone; the others' are all still there.
        orphaned = select(MessageFinding.id).where(
            MessageFinding.message_id.not_in(select(Message.id))
        )
        assert session.scalars(orphaned).first() is None
        assert after["MessageFinding"] < before["MessageFinding"]
        examples = {e.text: e.message_id for e in session.scalars(select(PeerExample))}
        assert examples["example from old"] is None  # kept, unlinked
        assert examples["example from recent"] is not None
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "transcripts.purge")
        ).one()
    assert event.details["conversations"] == 1 and event.details["peer_examples_kept"] == 1
    assert event.details["older_than_days"] == 30

    assert "0 conversations" in cli("transcripts", "purge", "--older-than", "30").stdout
    assert _counts(app) == after


def test_purge_uses_the_configured_retention(database_url, tmp_path):
    unset = make_app(database_url)
    try:
        result = cli_for(unset)("transcripts", "purge")
        assert result.exit_code == 2 and "EMPATHY_RETENTION_DAYS" in result.output
        assert cli_for(unset)("transcripts", "purge", "--older-than", "0").exit_code == 2
    finally:
        unset.extensions["empathy"].stop()

    app = make_app(database_url, EMPATHY_RETENTION_DAYS=30.0)
    try:
        cli = cli_for(app)
        _seed(app, cli, tmp_path)
        result = cli("transcripts", "purge")
        assert result.exit_code == 0 and "1 conversations" in result.stdout
        assert _counts(app)["Conversation"] == 2
    finally:
        app.extensions["empathy"].stop()
