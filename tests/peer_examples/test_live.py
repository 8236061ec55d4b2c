"""Peer examples offered in live nudges, over a real websocket to a real server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from assistant.live.peer_examples import cache_for
from assistant.storage.models import PeerExample, Team
from tests.server.client import Agent

TEST_LEXICONS = Path(__file__).resolve().parent.parent / "server" / "lexicons"
CALM = "Please calm down."  # test-calm-down, question 2
INCONVENIENCE = "We apologize for any inconvenience."  # test-inconvenience, question 4


@pytest.fixture
def server(start_server, database_url):
    live = start_server(
        database_url,
        EMPATHY_LEXICON_DIR=str(TEST_LEXICONS),
        EMPATHY_FRAMES_PER_SECOND=1000.0,  # the rotation test sends a few hundred frames
        EMPATHY_FRAME_BURST=1000.0,
    )
    live.support = live.new_token("alice", "support")
    live.billing = live.new_token("bob", "billing")
    return live


def add_example(runtime: Any, team: str, text_: str, **target: Any) -> int:
    with runtime.sessions.begin() as session:
        team_id = session.scalar(select(Team.id).where(Team.name == team))
        example = PeerExample(team_id=team_id, text=text_, **target)
        session.add(example)
        session.flush()
        return example.id


def nudge_for(agent: Agent, draft_id: str, draft: str, rule: str) -> dict[str, Any]:
    items = agent.draft(draft_id, draft)["items"]
    return next(item for item in items if item["rule"] == rule)


def offered_within(agent: Agent, draft: str, rule: str, seconds: float = 15) -> dict[str, Any]:
    """Drafts until the nudge carries an example (the server reloads examples every 2 s)."""
    deadline = time.monotonic() + seconds
    n = 0
    while True:
        n += 1
        item = nudge_for(agent, f"d{n}", draft, rule)
        if "peer_example" in item or time.monotonic() > deadline:
            return item
        time.sleep(0.2)


def test_offered_to_the_same_team_only_and_live_without_restart(server):
    with Agent(server.ws_url) as alice, Agent(server.ws_url) as bob:
        alice.hello(server.support, "c-alice")
        bob.hello(server.billing, "c-bob")
        assert "peer_example" not in nudge_for(alice, "d0", CALM, "test-calm-down")

        # Added while both are connected: offered within seconds, no restart.
        words = "I can hear this has been a long day. Let's sort it out together."
        example_id = add_example(server.runtime, "support", words, rule="test-calm-down")
        item = offered_within(alice, CALM, "test-calm-down")
        assert item["peer_example"] == {"id": example_id, "text": words}

        # The other team's agent, after the same reload, gets the nudge without it.
        assert cache_for(server.runtime.sessions).loaded.is_set()
        assert "peer_example" not in nudge_for(bob, "b1", CALM, "test-calm-down")


def test_rule_first_then_question_and_inactive_never(server):
    runtime = server.runtime
    by_question = add_example(runtime, "support", "Question-four example.", question=4)
    add_example(runtime, "support", "Switched off.", rule="test-calm-down", active=False)
    add_example(runtime, "billing", "Billing's own.", rule="test-inconvenience")
    cache_for(runtime.sessions).reload()
    with Agent(server.ws_url) as alice:
        alice.hello(server.support, "c1")
        # No example for the rule: the question's.
        item = nudge_for(alice, "d1", INCONVENIENCE, "test-inconvenience")
        assert item["peer_example"]["id"] == by_question
        assert "peer_example" not in nudge_for(alice, "d2", CALM, "test-calm-down")
        by_rule = add_example(runtime, "support", "Rule example.", rule="test-inconvenience")
        cache_for(runtime.sessions).reload()
        item = nudge_for(alice, "d3", INCONVENIENCE, "test-inconvenience")
        assert item["peer_example"] == {"id": by_rule, "text": "Rule example."}


def test_several_examples_rotate_between_nudges_and_stay_put_while_typing(server):
    runtime = server.runtime
    ids = {
        add_example(runtime, "support", f"Example {n}.", rule="test-calm-down") for n in range(3)
    }
    cache_for(runtime.sessions).reload()
    seen = set()
    with Agent(server.ws_url) as alice:
        alice.hello(server.support, "c1")
        for n in range(40):  # each conversation's first nudge gets a new id
            alice.send({"type": "sent", "id": f"s{n}", "text": "Thanks."})
            alice.expect("ack", id=f"s{n}")
            first = nudge_for(alice, f"a{n}", CALM, "test-calm-down")
            again = nudge_for(alice, f"b{n}", CALM + " Really.", "test-calm-down")
            assert again["id"] == first["id"] and again["peer_example"] == first["peer_example"]
            seen.add(first["peer_example"]["id"])
    assert seen == ids


def test_examples_survive_a_dead_database(server, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("renaming the table under a live server is done on SQLite")
    runtime = server.runtime
    example_id = add_example(runtime, "support", "Still here.", rule="test-calm-down")
    cache = cache_for(runtime.sessions)
    cache.reload()
    with runtime.db.begin() as connection:
        connection.execute(text("ALTER TABLE peer_examples RENAME TO peer_examples_gone"))
    try:
        with pytest.raises(OperationalError):
            cache.reload()  # what the background thread meets: it keeps the last examples
        with Agent(server.ws_url) as alice:
            alice.hello(server.support, "c1")
            item = nudge_for(alice, "d1", CALM, "test-calm-down")
            assert item["peer_example"]["id"] == example_id
    finally:
        with runtime.db.begin() as connection:
            connection.execute(text("ALTER TABLE peer_examples_gone RENAME TO peer_examples"))
