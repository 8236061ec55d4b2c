"""A purge (another process, in production) deletes a conversation whose id the writer still
has cached: the next record for that conversation must be stored in a new conversation and
acked, not refused for the foreign key (single records and batches)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from assistant.storage.models import Conversation, Message, Nudge
from assistant.storage.writer import ConversationKey, StoreMessage, StoreNudge, Writer
from assistant.transcripts.purge import purge

FINDING = {"rule": "r", "category": "c", "question": 1, "severity": "warning", "text": "x"}


class Recorder:
    def __init__(self) -> None:
        self.acks: dict[str, bool] = {}
        self.refused: list[str] = []
        self.changed = threading.Condition()
        self.holding = threading.Event()  # the writer thread is in a gated ack

    def message(self, key: ConversationKey, client_id: str, gate=None) -> StoreMessage:
        def on_stored(duplicate: bool) -> None:
            if gate is not None:
                self.holding.set()
                gate.wait(20)  # holds the writer thread while the test queues a batch
            with self.changed:
                self.acks[client_id] = duplicate
                self.changed.notify_all()

        def on_refused() -> None:
            with self.changed:
                self.refused.append(client_id)
                self.changed.notify_all()

        return StoreMessage(
            key, client_id, "customer", f"text {client_id}", datetime.now(UTC),
            on_stored=on_stored, on_refused=on_refused,
        )  # fmt: skip

    def wait_for(self, *client_ids: str) -> None:
        with self.changed:
            settled = lambda: all(c in self.acks or c in self.refused for c in client_ids)  # noqa: E731
            assert self.changed.wait_for(settled, 20)


def conversation_of(server, client_id: str) -> int:
    with server.runtime.sessions() as session:
        return session.scalar(select(Message.conversation_id).where(Message.client_id == client_id))


def purge_everything(server) -> None:
    assert purge(server.runtime.sessions, days=-1).conversations >= 1  # cut-off: tomorrow


def test_a_message_after_its_conversation_was_purged_is_stored_and_acked(server):
    team_id = server.runtime.identify(server.new_token("purged")).team_id
    key = ConversationKey(team_id, "purged-conversation")
    writer, seen = Writer(server.runtime.sessions), Recorder()
    try:
        assert writer.submit(seen.message(key, "m1"))
        seen.wait_for("m1")
        purge_everything(server)

        assert writer.submit(seen.message(key, "m2"))
        assert writer.submit(StoreNudge(key, "n1", "draft", FINDING))
        assert writer.submit(seen.message(key, "m3"))
        seen.wait_for("m2", "m3")
    finally:
        writer.stop()
    assert seen.refused == [] and seen.acks == {"m1": False, "m2": False, "m3": False}
    # (SQLite may give the new conversation the purged one's id: compare rows, not ids.)
    second = conversation_of(server, "m2")
    assert conversation_of(server, "m1") is None and conversation_of(server, "m3") == second
    with server.runtime.sessions() as session:
        (row,) = session.execute(select(Conversation.id, Conversation.external_id)).all()
        assert tuple(row) == (second, "purged-conversation")
        assert session.scalar(select(Nudge.conversation_id)) == second


def test_a_batch_after_its_conversation_was_purged_is_stored_and_acked(server, caplog):
    team_id = server.runtime.identify(server.new_token("purged-batch")).team_id
    key = ConversationKey(team_id, "purged-batch")
    writer, seen, gate = Writer(server.runtime.sessions), Recorder(), threading.Event()
    try:
        assert writer.submit(seen.message(key, "m1"))
        seen.wait_for("m1")
        # The writer holds m1's id in its cache; while it is busy with the next ack, the
        # conversation is purged and a batch for it is queued behind.
        assert writer.submit(seen.message(ConversationKey(team_id, "other"), "hold", gate))
        assert seen.holding.wait(20)
        purge_everything(server)
        for client_id in ("m2", "m3", "m4"):
            assert writer.submit(seen.message(key, client_id))
        gate.set()
        seen.wait_for("hold", "m2", "m3", "m4")
    finally:
        gate.set()
        writer.stop()
    assert seen.refused == []
    assert {c: seen.acks[c] for c in ("m2", "m3", "m4")} == {"m2": False, "m3": False, "m4": False}
    conversations = {conversation_of(server, c) for c in ("m2", "m3", "m4")}
    assert len(conversations) == 1 and None not in conversations
    assert "one by one" not in caplog.text  # the batch itself was stored again, in one go
