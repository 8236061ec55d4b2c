"""The storage writer's batches, against a real database: everything queued is stored in one
transaction, acks come only after the commit, and a batch that fails is stored again one by one
so one bad record never sinks the others (nor leaves a conversation id that was never stored)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from assistant.storage.models import Message, Nudge
from assistant.storage.writer import ConversationKey, StoreMessage, StoreNudge, Writer


def finding(**overrides) -> dict:
    return {
        "rule": "r", "category": "c", "question": 1, "severity": "warning",
        "start": 0, "end": 1, "text": "x", **overrides,
    }  # fmt: skip


class Batch:
    """Records queued before the writer starts, so its first batch takes them all."""

    def __init__(self, server, conversation: str) -> None:
        self.server = server
        team_id = server.runtime.identify(server.new_token(f"b-{conversation}")).team_id
        self.key = ConversationKey(team_id, conversation)
        self.writer = Writer(server.runtime.sessions)
        self.acks: list[tuple[str, bool, bool]] = []  # (id, duplicate, visible to others)
        self.refused: list[str] = []
        self.done = threading.Event()
        self.expected = 0

    def message(self, client_id: str, findings=(), outcomes=None) -> None:
        self.expected += 1

        def on_stored(duplicate: bool) -> None:
            self.acks.append((client_id, duplicate, self.visible(client_id)))
            self.settle()

        def on_refused() -> None:
            self.refused.append(client_id)
            self.settle()

        record = StoreMessage(
            self.key, client_id, "customer", f"text {client_id}", datetime.now(UTC),
            list(findings), outcomes or {}, on_stored=on_stored, on_refused=on_refused,
        )  # fmt: skip
        self.writer.queue.put(record)

    def nudge(self, public_id: str) -> None:
        self.writer.queue.put(StoreNudge(self.key, public_id, "draft", finding()))

    def settle(self) -> None:
        if len(self.acks) + len(self.refused) == self.expected:
            self.done.set()

    def visible(self, client_id: str) -> bool:
        """Whether another connection sees the message (i.e. it is committed)."""
        with self.server.runtime.sessions() as session:
            found = session.scalar(select(Message.id).where(Message.client_id == client_id))
            return found is not None

    def run(self) -> None:
        self.writer.start()
        assert self.done.wait(20)
        self.writer.stop()

    def stored(self) -> set[str]:
        with self.server.runtime.sessions() as session:
            return set(session.scalars(select(Message.client_id)))


def test_a_batch_is_acked_only_once_committed(server):
    batch = Batch(server, "batch-ok")
    for i in range(30):
        batch.message(f"m{i}")
        batch.nudge(f"n_{i}")
    batch.message("m0")  # a resend queued behind the original: stored once, acked twice
    batch.run()
    assert [(i, d) for i, d, _ in batch.acks] == [(f"m{i}", False) for i in range(30)] + [
        ("m0", True)
    ]
    assert all(visible for _, _, visible in batch.acks)  # no ack before the commit
    assert batch.stored() == {f"m{i}" for i in range(30)}
    with server.runtime.sessions() as session:
        assert len(session.scalars(select(Nudge.public_id)).all()) == 30


def test_findings_and_nudge_outcomes_are_stored_with_the_batch(server):
    batch = Batch(server, "batch-outcomes")
    batch.nudge("n_kept")
    batch.nudge("n_fixed")
    batch.message("m1", [finding(rule="a"), finding(rule="b")], {"n_kept": True, "n_fixed": False})
    batch.message("m2", [finding(rule="c")])
    batch.run()
    with server.runtime.sessions() as session:
        messages = {m.client_id: m for m in session.scalars(select(Message))}
        assert sorted(f.rule for f in messages["m1"].findings) == ["a", "b"]
        assert [f.rule for f in messages["m2"].findings] == ["c"]
        outcomes = {n.public_id: (n.message_id, n.survived) for n in session.scalars(select(Nudge))}
    assert outcomes == {"n_kept": (messages["m1"].id, True), "n_fixed": (messages["m1"].id, False)}


def test_one_bad_record_does_not_sink_the_batch(server):
    # A new conversation, created in the batch that fails: its id must not be remembered.
    batch = Batch(server, "batch-bad")
    batch.message("a")
    batch.message("bad", [finding(start=2**70)])  # no integer column holds it
    batch.message("b")
    batch.nudge("n_after")
    batch.run()
    assert sorted((i, d) for i, d, _ in batch.acks) == [("a", False), ("b", False)]
    assert batch.refused == ["bad"]
    assert batch.stored() == {"a", "b"}
    with server.runtime.sessions() as session:
        assert session.scalars(select(Nudge.public_id)).all() == ["n_after"]


def test_the_queue_limit_counts_the_batch_in_the_writers_hands(server):
    """EMPATHY_WRITE_QUEUE bounds records accepted and not yet stored, however they are split
    between the queue and the writer's batch."""
    writer = Writer(server.runtime.sessions, max_queue=2)
    writer.thread = threading.current_thread()  # keep it from starting: nothing is taken
    key = ConversationKey(1, "limit")

    def record(n: int) -> StoreMessage:
        return StoreMessage(key, f"m{n}", "customer", "x", datetime.now(UTC))

    assert [writer.submit(record(n)) for n in range(4)] == [True, True, True, False]
    writer.queue.get_nowait()  # taken into a batch, not stored yet: still counts
    assert not writer.submit(record(5))
    writer.queue.task_done()  # stored
    assert writer.submit(record(6))
