"""Rules live in the database; a change reaches every connected agent within about a second,
and a broken rule set never replaces the working engine."""

from __future__ import annotations

import copy

import pytest

from assistant.storage import lexicon_store

from .client import Agent


def edit_rules(server, change) -> int:
    with server.runtime.sessions.begin() as session:
        rules = copy.deepcopy(lexicon_store.rule_dicts(session))
        change(rules)
        return lexicon_store.replace_rules(session, rules)


def test_lexicons_are_seeded_on_first_start(server):
    with server.runtime.sessions() as session:
        ids = {rule["id"] for rule in lexicon_store.rule_dicts(session)}
        assert lexicon_store.current_version(session) == 1
    assert {"test-calm-down", "test-frustrated", "customer-waiting"} <= ids


def test_a_rule_change_reaches_connected_agents(server, token):
    def add_phrase(rules):
        calm = next(rule for rule in rules if rule["id"] == "test-calm-down")
        calm["patterns"].append("relax")

    with Agent(server.ws_url) as agent:
        ready = agent.hello(token)
        assert agent.draft("d1", "Relax, it will come.")["items"] == []
        version = edit_rules(server, add_phrase)
        assert version == ready["lexicon_version"] + 1
        frame = agent.expect("lexicon", timeout=10)
        assert frame["version"] == version and frame["rules"] >= 1
        assert agent.draft("d2", "Relax, it will come.")["items"][0]["rule"] == "test-calm-down"


def test_a_broken_rule_set_keeps_the_working_engine(server, token):
    def break_a_rule(rules):
        calm = next(rule for rule in rules if rule["id"] == "test-calm-down")
        calm["question"] = 9
        calm["patterns"] = ["relax"]

    with Agent(server.ws_url) as agent:
        agent.hello(token)
        before = server.runtime.lexicons.version
        bad = edit_rules(server, break_a_rule)
        with pytest.raises(TimeoutError):
            agent.expect("lexicon", timeout=1.5)  # polled several times meanwhile
        assert server.runtime.lexicons.rejected_version == bad
        assert server.runtime.lexicons.version == before
        assert agent.draft("d1", "Please calm down.")["items"][0]["rule"] == "test-calm-down"


def test_new_connections_do_not_wait_for_a_reload_in_progress(server, token):
    """A reload holds the lexicon lock across database reads and compiling; a websocket opened
    meanwhile is served by the current engine straight away."""
    # The lock held by this test stands for a reload in progress.
    with server.runtime.lexicons._lock, Agent(server.ws_url) as agent:
        agent.send({"type": "hello", "token": token, "conversation": "during-reload"})
        assert agent.expect("ready", timeout=5)["conversation"] == "during-reload"
        assert agent.draft("d1", "calm down")["items"]
