"""What reaches the database: acks only once stored, idempotent resends, redaction, no drafts,
nudges and their outcome, feedback. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from assistant.storage.models import Conversation, Feedback, Message, MessageFinding, Nudge

from .client import Agent
from .conftest import TEST_LEXICONS


def rows(server, model, *where):
    with server.runtime.sessions() as session:
        return list(session.scalars(select(model).where(*where)))


def test_customer_and_sent_messages_are_acked_and_stored(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-1", site="shop.example")
        assert agent.customer("m1", "Where is my parcel?") == {
            "type": "ack", "id": "m1", "duplicate": False
        }  # fmt: skip
        agent.sent("s1", "Let me check that for you.")
    (conversation,) = rows(server, Conversation)
    assert conversation.external_id == "store-1" and conversation.site == "shop.example"
    stored = rows(server, Message)
    assert [(m.client_id, m.author, m.text) for m in stored] == [
        ("m1", "customer", "Where is my parcel?"),
        ("s1", "agent", "Let me check that for you."),
    ]


def test_drafts_are_never_stored(server, token):
    secret = "calm down, this draft text must not be stored"
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-2")
        agent.draft("d1", secret)
        agent.sent("s1", "Thanks for waiting.")
    with server.runtime.db.connect() as connection:
        dump = "\n".join(
            str(row)
            for table in ("messages", "nudges", "message_findings", "conversations")
            for row in connection.exec_driver_sql(f"SELECT * FROM {table}")
        )
    assert "must not be stored" not in dump
    assert "Thanks for waiting." in dump


def test_resent_message_is_stored_once_and_acked_again(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-3")
        assert agent.customer("m1", "Hello?")["duplicate"] is False
        assert agent.customer("m1", "Hello?")["duplicate"] is True
    # After a reconnect (the client resends what it had not seen acked).
    with Agent(server.ws_url) as agent:
        ready = agent.hello(token, "store-3")
        assert ready["restored_messages"] == 1
        assert agent.customer("m1", "Hello?")["duplicate"] is True
        assert agent.sent("s1", "Hi!")["duplicate"] is False
        assert agent.sent("s1", "Hi!")["duplicate"] is True
    assert [m.client_id for m in rows(server, Message)] == ["m1", "s1"]


def test_same_client_id_in_two_conversations_is_two_messages(server, token):
    for conversation in ("store-4a", "store-4b"):
        with Agent(server.ws_url) as agent:
            agent.hello(token, conversation)
            agent.customer("m1", f"Hi from {conversation}")
    assert len(rows(server, Message)) == 2


def test_personal_data_is_redacted_before_it_is_stored(server, token):
    text = (
        "I'm dana.doe@example.com, card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, "
        "call me on +44 20 7946 0958, I live at 221B Baker Street. Order 12345."
    )
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-5")
        agent.customer("m1", text)
        agent.sent("s1", "I'll email dana.doe@example.com today, calm down.")
    customer, sent = rows(server, Message)
    assert customer.text == (
        "I'm [email], card [card], IBAN [iban], call me on [phone], I live at [address]. "
        "Order 12345."
    )
    assert sent.text == "I'll email [email] today, calm down."
    with server.runtime.db.connect() as connection:
        dump = str(connection.exec_driver_sql("SELECT * FROM messages").all())
    for secret in ("dana.doe", "4111", "GB82", "7946", "Baker"):
        assert secret not in dump


def test_sent_message_findings_are_stored_even_without_a_draft(server, token):
    text = "We apologize for any inconvenience. Please calm down."
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-6")
        agent.sent("s1", text)
    findings = rows(server, MessageFinding)
    assert {f.rule for f in findings} == {"test-inconvenience", "test-calm-down"}
    calm = next(f for f in findings if f.rule == "test-calm-down")
    assert text[calm.start : calm.end].lower() == "calm down"


def test_customer_feelings_are_stored_as_findings(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-7")
        agent.customer("m1", "I'm so frustrated with this")
    (finding,) = rows(server, MessageFinding)
    assert finding.rule == "test-frustrated" and finding.text == "frustrated"


def test_nudges_are_stored_with_whether_the_flagged_phrase_survived(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-8")
        first = agent.draft("d1", "We apologize for any inconvenience. Please calm down.")
        ids = {item["rule"]: item["id"] for item in first["items"]}
        agent.draft("d2", "We apologize for any inconvenience. I'm on it.")  # calm down removed
        agent.sent("s1", "We apologize for any inconvenience. I'm on it.")
    nudges = {n.rule: n for n in rows(server, Nudge)}
    assert set(nudges) == {"test-inconvenience", "test-calm-down"}
    assert nudges["test-inconvenience"].public_id == ids["test-inconvenience"]
    assert nudges["test-inconvenience"].survived is True
    assert nudges["test-calm-down"].survived is False
    (message,) = rows(server, Message)
    assert {n.message_id for n in nudges.values()} == {message.id}
    assert all(n.trigger == "draft" for n in nudges.values())


def test_feedback_is_stored_against_the_nudge(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-9")
        nudge_id = agent.draft("d1", "calm down")["items"][0]["id"]
        agent.send({"type": "feedback", "nudge": nudge_id, "action": "unhelpful"})
        agent.send({"type": "feedback", "nudge": "n_doesnotexist", "action": "applied"})
        error = agent.expect("error")
        assert error["code"] == "unknown-nudge" and error["for"] == "n_doesnotexist"
    (feedback,) = rows(server, Feedback)
    assert feedback.action == "unhelpful"
    with server.runtime.sessions() as session:
        assert session.get(Nudge, feedback.nudge_id).public_id == nudge_id


def test_feedback_on_another_conversations_nudge_is_unknown(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-10a")
        nudge_id = agent.draft("d1", "calm down")["items"][0]["id"]
    with Agent(server.ws_url) as agent:
        agent.hello(token, "store-10b")
        agent.send({"type": "feedback", "nudge": nudge_id, "action": "applied"})
        assert agent.expect("error")["code"] == "unknown-nudge"


def test_personal_data_in_a_conversation_id_is_not_stored(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "chat-with-dana.doe@example.com")
        agent.customer("m1", "hi")
    (conversation,) = rows(server, Conversation)
    assert "dana" not in conversation.external_id and conversation.external_id.startswith("h:")


class TestDatabaseUnavailable:
    """While the database is locked or unreachable, nudges flow and acks wait."""

    def lock_database(self, server, database_url):
        """Hold a write lock on the messages table from another connection; returns a release."""
        release = threading.Event()
        locked = threading.Event()

        def hold():
            with server.runtime.db.connect() as connection:
                if database_url.startswith("sqlite"):
                    connection.exec_driver_sql("BEGIN EXCLUSIVE")
                else:
                    connection.exec_driver_sql("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(30)
                connection.rollback()

        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        assert locked.wait(10)
        return release, thread

    def test_nudges_flow_and_acks_wait_until_stored(self, server, token, database_url):
        with Agent(server.ws_url) as agent:
            agent.hello(token, "dead-db")
            release, holder = self.lock_database(server, database_url)
            try:
                agent.send({"type": "customer", "id": "m1", "text": "Anyone there?"})
                # Analysis does not wait for the database...
                assert agent.draft("d1", "calm down")["items"]
                # ...and nothing is acked while it cannot be stored.
                with pytest.raises(TimeoutError):
                    agent.expect("ack", timeout=1.0)
            finally:
                release.set()
                holder.join(10)
            assert agent.expect("ack", id="m1", timeout=15)["duplicate"] is False
        assert [m.client_id for m in rows(server, Message)] == ["m1"]


class TestWriteQueueFull:
    @pytest.fixture
    def settings(self):
        return {"EMPATHY_WRITE_QUEUE": 2}

    def test_refused_messages_get_storage_busy_and_are_stored_when_resent(
        self, server, token, database_url
    ):
        with Agent(server.ws_url) as agent:
            agent.hello(token, "full")
            release, holder = TestDatabaseUnavailable().lock_database(server, database_url)
            try:
                for i in range(6):
                    agent.send({"type": "customer", "id": f"m{i}", "text": f"message {i}"})
                busy = set()
                while len(busy) < 3:  # one record in the writer's hands, two queued
                    error = agent.expect("error", timeout=10)
                    assert error["code"] == "storage-busy"
                    busy.add(error["for"])
            finally:
                release.set()
                holder.join(10)
            # Like a real client: resend whatever was refused, a little later, until acked.
            for resend in busy:
                agent.send({"type": "customer", "id": resend, "text": f"message {resend[1:]}"})
            acked: set[str] = set()
            deadline = time.monotonic() + 30
            while len(acked) < 6 and time.monotonic() < deadline:
                frame = agent.recv(timeout=15)
                if frame["type"] == "ack":
                    acked.add(frame["id"])
                elif frame["type"] == "error" and frame["code"] == "storage-busy":
                    time.sleep(0.2)
                    resend = frame["for"]
                    agent.send({"type": "customer", "id": resend, "text": f"message {resend[1:]}"})
            assert acked == {f"m{i}" for i in range(6)}
        stored = sorted((m.client_id, m.text) for m in rows(server, Message))
        assert stored == [(f"m{i}", f"message {i}") for i in range(6)]


def test_queued_messages_survive_a_dropped_database_connection(server, token, database_url):
    """PostgreSQL: the writer's connection is killed; the pool reconnects and nothing is lost."""
    if not database_url.startswith("postgresql"):
        pytest.skip("terminating backends is a PostgreSQL feature")
    with Agent(server.ws_url) as agent:
        agent.hello(token, "killed")
        agent.customer("m0", "first")
        with server.runtime.db.connect() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            connection.commit()
        time.sleep(0.1)
        for i in range(1, 4):
            agent.send({"type": "customer", "id": f"m{i}", "text": f"message {i}"})
        for i in range(1, 4):
            agent.expect("ack", id=f"m{i}", timeout=15)
    assert [m.client_id for m in rows(server, Message)] == ["m0", "m1", "m2", "m3"]


def test_database_gone_at_reconnect_nudges_go_on_and_nothing_is_lost(start_server, tmp_path):
    """The database file disappears (SQLite): a reconnecting agent whose token was verified
    recently is still served, told its context is unavailable, and its messages wait for the
    database instead of being dropped."""
    path = tmp_path / "gone.sqlite3"
    server = start_server(f"sqlite:///{path}", EMPATHY_LEXICON_DIR=str(TEST_LEXICONS))
    token = server.new_token("alice")
    with Agent(server.ws_url) as agent:
        agent.hello(token, "gone")
        agent.customer("m1", "I'm so frustrated")

    hidden = tmp_path / "hidden"
    hidden.mkdir()
    server.runtime.db.dispose()
    for file in tmp_path.glob("gone.sqlite3*"):
        file.rename(hidden / file.name)
    try:
        with Agent(server.ws_url) as agent:
            agent.send({"type": "hello", "token": token, "conversation": "gone"})
            assert agent.expect("error")["code"] == "context-unavailable"
            assert agent.expect("ready")["restored_messages"] == 0
            assert agent.draft("d1", "calm down")["items"]
            agent.send({"type": "customer", "id": "m2", "text": "hello?"})
            with pytest.raises(TimeoutError):
                agent.expect("ack", timeout=1.0)
            # The database comes back: the waiting message is stored and acked.
            server.runtime.db.dispose()
            for file in tmp_path.glob("gone.sqlite3*"):
                file.unlink()
            for file in hidden.iterdir():
                file.rename(tmp_path / file.name)
            server.runtime.db.dispose()
            assert agent.expect("ack", id="m2", timeout=20)["duplicate"] is False
    finally:
        for file in hidden.iterdir():
            file.rename(tmp_path / file.name)
    assert [m.client_id for m in rows(server, Message)] == ["m1", "m2"]
