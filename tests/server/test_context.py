"""Conversation context: feelings, the customer's name, repetition, the waiting nudge, and
restoring all of it after a reconnect or on another server process (worker)."""

from __future__ import annotations

import time

import pytest

from .client import Agent


def rules(nudges: dict) -> set[str]:
    return {item["rule"] for item in nudges["items"]}


def test_unacknowledged_feeling_gets_a_question_1_nudge_quoting_the_customer(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "ctx-1")
        agent.customer("m1", "I'm so frustrated, the refund never came")
        nudges = agent.draft("d1", "Your refund was sent on Monday.")
        (item,) = [i for i in nudges["items"] if i["rule"] == "unacknowledged-feeling"]
        assert item["question"] == 1 and (item["start"], item["end"]) == (0, 0)
        assert "frustrated" in item["message"]
        # Acknowledging the feeling makes the nudge go away.
        ack = agent.draft("d2", "I understand how frustrating this is. Your refund was sent.")
        assert "unacknowledged-feeling" not in rules(ack)


def test_customer_name_unused_until_the_agent_uses_it(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "ctx-2", customer_name="Priya")
        text = "Thanks for your message, I will check the tracking for you now."
        nudge = next(i for i in agent.draft("d1", text)["items"])
        assert nudge["rule"] == "customer-name-unused"
        assert any("Priya" in s for s in nudge["suggestions"])
        assert "customer-name-unused" not in rules(agent.draft("d2", "Thanks Priya, " + text))


def test_repeating_a_sent_sentence_is_flagged(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "ctx-3")
        line = "I have escalated this to our shipping team."
        assert "repeated-sentence" not in rules(agent.draft("d1", line))
        agent.sent("s1", line)
        nudges = agent.draft("d2", "Hello again. " + line)
        (item,) = [i for i in nudges["items"] if i["rule"] == "repeated-sentence"]
        assert ("Hello again. " + line)[item["start"] : item["end"]] == line


def test_context_is_restored_after_a_reconnect(server, token):
    line = "I have escalated this to our shipping team."
    with Agent(server.ws_url) as agent:
        agent.hello(token, "ctx-4")
        agent.customer("m1", "I'm so frustrated with all this")
        agent.sent("s1", line)
    with Agent(server.ws_url) as agent:
        assert agent.hello(token, "ctx-4")["restored_messages"] == 2
        found = rules(agent.draft("d1", "Hello again. " + line))
        assert {"repeated-sentence", "unacknowledged-feeling"} <= found


def test_context_is_shared_by_server_processes_on_one_database(start_server, server, token):
    """A second app on the same database stands in for another worker or instance."""
    with Agent(server.ws_url) as agent:
        agent.hello(token, "ctx-5")
        agent.customer("m1", "I'm so frustrated")
    other = start_server(server.runtime.database_url, EMPATHY_LEXICON_DIR=server.app.config[
        "EMPATHY_LEXICON_DIR"])  # fmt: skip
    with Agent(other.ws_url) as agent:
        assert agent.hello(token, "ctx-5")["restored_messages"] == 1
        assert "unacknowledged-feeling" in rules(agent.draft("d1", "Your refund is on its way."))


def test_conversations_do_not_leak_into_each_other(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "ctx-6a")
        agent.customer("m1", "I'm so frustrated")
    with Agent(server.ws_url) as agent:
        agent.hello(token, "ctx-6b")
        assert "unacknowledged-feeling" not in rules(agent.draft("d1", "Your refund is sent."))


class TestWaiting:
    @pytest.fixture
    def token(self, server):
        token = server.new_token("alice", "fast-team")
        from sqlalchemy import update

        from assistant.storage.models import Team

        with server.runtime.sessions.begin() as session:
            session.execute(update(Team).where(Team.name == "fast-team").values(wait_seconds=0.6))
        return token

    def test_customer_left_waiting_gets_an_im_still_on_it_nudge(self, server, token):
        with Agent(server.ws_url) as agent:
            assert agent.hello(token, "wait-1", customer_name="Tom")["wait_seconds"] == 0.6
            started = time.monotonic()
            agent.customer("m1", "Hello? Is anyone there?")
            frame = agent.expect("waiting", timeout=10)
            assert time.monotonic() - started >= 0.5
            assert frame["for"] == "m1" and frame["waited_seconds"] >= 0.6
            (item,) = frame["items"]
            assert item["rule"] == "customer-waiting" and item["id"].startswith("n_")
            assert any("Tom" in s for s in item["suggestions"])
            # Only once per wait: no second nudge while the same message waits.
            with pytest.raises(TimeoutError):
                agent.expect("waiting", timeout=1.5)

    def test_an_agent_reply_stops_the_clock(self, server, token):
        with Agent(server.ws_url) as agent:
            agent.hello(token, "wait-2")
            agent.customer("m1", "Hello?")
            agent.sent("s1", "Hi! Checking now.")
            with pytest.raises(TimeoutError):
                agent.expect("waiting", timeout=1.5)
            # The next customer message starts a new wait.
            agent.customer("m2", "Any news?")
            assert agent.expect("waiting", timeout=10)["for"] == "m2"

    def test_waiting_nudge_can_get_feedback(self, server, token):
        from assistant.storage.models import Feedback, Nudge

        with Agent(server.ws_url) as agent:
            agent.hello(token, "wait-3")
            agent.customer("m1", "Hello?")
            nudge_id = agent.expect("waiting")["items"][0]["id"]
            agent.send({"type": "feedback", "nudge": nudge_id, "action": "applied"})
            agent.sent("s1", "Still on it!")  # the ack proves the feedback before it is stored
        with server.runtime.sessions() as session:
            (feedback,) = session.query(Feedback).all()
            nudge = session.get(Nudge, feedback.nudge_id)
            assert nudge.trigger == "waiting" and nudge.rule == "customer-waiting"

    def test_a_wait_that_began_before_a_reconnect_is_still_counted(self, server, token):
        with Agent(server.ws_url) as agent:
            agent.hello(token, "wait-4")
            agent.customer("m1", "Hello?")
        with Agent(server.ws_url) as agent:
            agent.hello(token, "wait-4")
            assert agent.expect("waiting", timeout=10)["for"] == "m1"
