"""The storage writer against a real database: bad records are dropped (never retried forever,
never acked), values are fitted to their columns, and the log names ids only."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import select

from assistant.storage.models import Message, MessageFinding
from assistant.storage.writer import ConversationKey, StoreMessage

from .client import Agent


def stored_messages(server) -> dict[str, Message]:
    with server.runtime.sessions() as session:
        return {m.client_id: m for m in session.scalars(select(Message))}


def store(
    server, client_id: str, text: str, findings=(), acks=None, refused=None
) -> threading.Event:
    """Queue one message on the server's writer; the event is set when it is acked."""
    team_id = server.runtime.identify(server.new_token(f"w-{client_id}")).team_id
    acked = threading.Event()

    def on_stored(duplicate: bool) -> None:
        if acks is not None:
            acks.append((client_id, duplicate))
        acked.set()

    record = StoreMessage(
        ConversationKey(team_id, "writer"),
        client_id,
        "customer",
        text,
        datetime.now(UTC),
        list(findings),
        on_stored=on_stored,
        on_refused=refused.set if refused else None,
    )
    assert server.runtime.writer.submit(record)
    return acked


def finding(**overrides) -> dict:
    return {
        "rule": "r", "category": "c", "question": 1, "severity": "warning",
        "start": 0, "end": 1, "text": "x", **overrides,
    }  # fmt: skip


def test_values_longer_than_their_column_are_cut_to_fit(server):
    long = finding(rule="r" * 300, category="c" * 300, severity="s" * 50)
    assert store(server, "m1", "hello", [long]).wait(10)
    with server.runtime.sessions() as session:
        (row,) = session.scalars(select(MessageFinding))
        assert (len(row.rule), len(row.category), len(row.severity)) == (100, 100, 20)


def test_a_record_the_database_refuses_is_dropped_unacked_and_the_queue_goes_on(server, caplog):
    secret = "my secret complaint"
    acks: list = []
    told = threading.Event()
    refused = store(server, "bad", secret, [finding(start=2**70)], acks, told)  # no column fits
    assert store(server, "good", "hello", acks=acks).wait(10)
    assert not refused.is_set() and acks == [("good", False)]
    assert told.is_set()  # the client is told not to resend it
    assert set(stored_messages(server)) == {"good"}
    assert "message 'bad'" in caplog.text and "dropped" in caplog.text
    assert secret not in caplog.text


def test_a_flush_error_is_not_taken_for_a_duplicate(server):
    """A NOT NULL violation at flush used to be acked as a duplicate although nothing was stored."""
    acks: list = []
    store(server, "no-rule", "hello", [finding(rule=None)], acks)
    assert store(server, "next", "hello", acks=acks).wait(10)
    assert acks == [("next", False)]
    assert set(stored_messages(server)) == {"next"}


def test_a_nul_character_in_a_message_is_stored_not_retried_forever(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "nul\x00conversation", site="shop\x00example")
        assert agent.customer("m1", "I'm so frustrated\x00!")["duplicate"] is False
        assert agent.customer("m2", "hello")["duplicate"] is False
    assert stored_messages(server)["m1"].text == "I'm so frustrated\ufffd!"
