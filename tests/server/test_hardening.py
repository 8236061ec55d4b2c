"""Reviewer findings on the live server: odd numbers in `ts`, the waiting clock, blank customer
names, team rules for stored feelings, personal data kept out of logs, bounded buffers."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import select, update

from assistant.storage import lexicon_store
from assistant.storage.models import Message, MessageFinding, Team, TeamRuleSwitch

from .client import Agent


def findings_of(server, client_id: str) -> list[str]:
    with server.runtime.sessions() as session:
        return list(
            session.scalars(
                select(MessageFinding.rule).join(Message).where(Message.client_id == client_id)
            )
        )


@pytest.mark.parametrize("ts", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_as_bad_json(server, token, ts):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "ts-nan")
        agent.send(f'{{"type": "customer", "id": "m1", "text": "hi", "ts": {ts}}}')
        error = agent.expect("error")
        assert error["code"] == "bad-json" and ts.lstrip("-") in error["message"]
        assert agent.customer("m1", "hi", ts=time.time() * 1000)["duplicate"] is False


def test_a_huge_ts_is_refused_and_changes_nothing(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "ts-huge")
        agent.send({"type": "sent", "id": "s1", "text": "Please calm down.", "ts": 1e300})
        error = agent.expect("error")
        assert (error["code"], error["for"]) == ("bad-frame", "s1")
        # The refused frame left no trace: resent properly, it is analysed and stored in full.
        assert agent.sent("s1", "Please calm down.")["duplicate"] is False
    assert findings_of(server, "s1") == ["test-calm-down"]


class TestWaitingClock:
    @pytest.fixture
    def token(self, server):
        token = server.new_token("alice", "quick-team")
        with server.runtime.sessions.begin() as session:
            session.execute(update(Team).where(Team.name == "quick-team").values(wait_seconds=0.5))
        return token

    def test_the_wait_is_counted_from_when_the_server_got_the_message(self, server, token):
        """A client clock an hour behind must not make the customer look an hour late."""
        with Agent(server.ws_url) as agent:
            agent.hello(token, "clock")
            agent.customer("m1", "Hello?", ts=(time.time() - 3600) * 1000)
            assert agent.expect("waiting", timeout=10)["waited_seconds"] < 60


def test_a_blank_customer_name_is_no_name(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "blank-name", customer_name="   ")
        text = "Thanks for your message, I will check the tracking for you now."
        rules = [item["rule"] for item in agent.draft("d1", text)["items"]]
        assert "customer-name-unused" not in rules


def test_stored_feelings_follow_the_agents_team_rules(server):
    token = server.new_token("bob", "calm-team")
    with server.runtime.sessions.begin() as session:
        team = session.scalar(select(Team).where(Team.name == "calm-team"))
        session.add(TeamRuleSwitch(team_id=team.id, rule_id="test-frustrated"))
        lexicon_store.bump_version(session)
    assert server.runtime.lexicons.check_now()
    with Agent(server.ws_url) as agent:
        agent.hello(token, "team-feelings")
        agent.customer("m1", "I'm so frustrated with this")
    assert findings_of(server, "m1") == []


def test_customer_text_and_names_stay_out_of_the_logs(server, token, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "Zebulon Quartermaine is so frustrated"
    with Agent(server.ws_url) as agent:
        agent.hello(token, "logs", customer_name="Zebulon")
        agent.customer("m1", secret)
        agent.sent("s1", "Sorry Zebulon, please calm down.")
    server_log = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("websockets")
    )  # (the test's own client logs what it sends)
    assert server_log and "Zebulon" not in server_log and "Quartermaine" not in server_log


def test_a_reconnect_replays_only_the_recent_history(server, token, monkeypatch):
    from assistant.live import connection

    monkeypatch.setattr(connection, "REPLAYED_MESSAGES", 3)
    with Agent(server.ws_url) as agent:
        agent.hello(token, "long")
        for i in range(6):
            agent.customer(f"m{i}", f"message {i}")
    with Agent(server.ws_url) as agent:
        assert agent.hello(token, "long")["restored_messages"] == 3
        # The replayed tail is the newest: m5 is known (no work, no new feeling), m0 is not.
        assert agent.customer("m5", "message 5")["duplicate"] is True


def test_ids_are_remembered_least_recently_used_first():
    from assistant.live.connection import RecentIds

    ids = RecentIds(size=2)
    for client_id in ("a", "b", "a", "c"):
        ids.remember(client_id)
    assert "a" in ids and "c" in ids and "b" not in ids


def test_database_errors_do_not_show_the_values_being_stored(server):
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError) as refused, server.runtime.sessions.begin() as session:
        session.add(
            Message(conversation_id=987654, client_id="x", author="customer",
                    text="Zebulon's secret", sent_at=datetime.now(UTC))
        )  # fmt: skip
    assert "Zebulon" not in str(refused.value)
