"""Two gunicorn instances behind nginx, sharing one PostgreSQL database (deploy/local_cluster.py).

Checks what operators rely on when they add instances: agents are spread over them, a lexicon
edit made once reaches every instance within 2 s, and a conversation that reconnects to another
instance keeps its context (the customer's waiting time, the feelings already acknowledged).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "deploy"))
from local_cluster import UPSTREAM_HEADER, Cluster, find_nginx, start_cluster  # noqa: E402

PG_HOST, PG_PORT = "127.0.0.1", 5432
LIVE_WITHIN = 2.0  # seconds from a lexicon edit to every instance flagging with the new rule
WAIT_SECONDS = 5.0  # the team's customer-waiting threshold in these tests
TEAM = "floor"
NEW_RULE = {
    "id": "deploy-test-lavender-policy",
    "role": "agent",
    "patterns": ["lavender policy"],
    "category": "policy",
    "question": 3,
    "severity": "warning",
    "message": "Quoting a policy tells the customer what you can't do.",
    "suggestions": ["Here's what I can do for you{, name}:"],
    "examples": {"flags": ["Our lavender policy says no."], "passes": ["Lavender smells nice."]},
}

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if find_nginx() is None:
        pytest.skip("nginx is not installed (Debian package: nginx)")
    if not postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT}")
    name = f"empathy_deploy_{secrets.token_hex(5)}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    database_url = f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    started = None
    try:
        _flask(database_url, "init-db")  # once, so the instances do not race to migrate
        set_team_wait(database_url, TEAM, WAIT_SECONDS)
        started = start_cluster(
            database_url,
            tmp_path_factory.mktemp("cluster"),
            instances=2,
            gunicorn_config=os.environ.get("EMPATHY_GUNICORN_CONFIG", "gunicorn.conf.py"),
            gunicorn_args=("--workers", "1"),  # two instances are the point, not workers
        )
        yield started
    finally:
        if started:
            started.stop()
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def new_token(cluster: Cluster) -> Callable[[str], str]:
    from assistant.storage import accounts
    from assistant.storage.db import make_engine, make_session_factory

    engine = make_engine(cluster.database_url)
    sessions = make_session_factory(engine)

    def mint(name: str) -> str:
        with sessions.begin() as session:
            return accounts.mint_token(session, accounts.create_agent(session, name, TEAM))

    yield mint
    engine.dispose()


class Agent:
    """A websocket through nginx, with the instance that took it and the frames it got."""

    def __init__(self, url: str) -> None:
        self.ws: ClientConnection = connect(url, open_timeout=20, close_timeout=2).__enter__()
        self.instance = self.ws.response.headers[UPSTREAM_HEADER]
        self.frames: list[dict[str, Any]] = []
        self.ready: dict[str, Any] = {}

    def hello(self, token: str, conversation: str) -> Agent:
        self.send({"type": "hello", "token": token, "conversation": conversation})
        self.ready = self.expect(lambda f: f["type"] == "ready", 30)
        return self

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def expect(self, wanted: Callable[[dict], bool], timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next_frame(deadline - time.monotonic())
            if frame is None:
                raise AssertionError(f"no matching frame within {timeout}s; got {self.frames}")
            if wanted(frame):
                return frame

    def next_frame(self, timeout: float) -> dict[str, Any] | None:
        if timeout <= 0:
            return None
        try:
            frame = json.loads(self.ws.recv(timeout=timeout))
        except TimeoutError:
            return None
        self.frames.append(frame)
        return frame

    def draft(self, text: str) -> dict[str, Any]:
        frame_id = "d" + secrets.token_hex(4)
        self.send({"type": "draft", "id": frame_id, "text": text})
        return self.expect(lambda f: f["type"] == "nudges" and f["for"] == frame_id)

    def message(self, kind: str, text: str, ts: float | None = None) -> str:
        """Send a customer or sent message and wait until the server stored it."""
        frame_id = kind[0] + secrets.token_hex(4)
        frame = {"type": kind, "id": frame_id, "text": text}
        if ts is not None:
            frame["ts"] = ts * 1000
        self.send(frame)
        self.expect(lambda f: f["type"] == "ack" and f["id"] == frame_id)
        return frame_id

    def close(self) -> None:
        self.ws.close()


def rules(nudges: dict[str, Any]) -> set[str]:
    return {item["rule"] for item in nudges["items"]}


def test_agents_are_spread_over_the_instances(cluster: Cluster, new_token) -> None:
    agents = [
        Agent(cluster.ws_url).hello(new_token(f"spread-{n}"), f"spread-{n}") for n in range(6)
    ]
    try:
        served_by = {agent.instance for agent in agents}
        assert served_by == {f"127.0.0.1:{port}" for port in cluster.instance_ports}
        for agent in agents:  # and every instance answers drafts with nudges
            nudges = agent.draft("We apologize for any inconvenience. As per our policy, no.")
            assert rules(nudges), f"no nudge from {agent.instance}"
    finally:
        for agent in agents:
            agent.close()


def test_a_lexicon_edit_is_live_on_every_instance_within_2_seconds(
    cluster: Cluster, new_token
) -> None:
    agents = one_agent_per_instance(cluster, new_token, "lexicon")
    try:
        draft = "Our lavender policy does not allow that."
        for agent in agents:
            assert NEW_RULE["id"] not in rules(agent.draft(draft))
        edited_at = add_rule(cluster.database_url, NEW_RULE)
        live_after = {}
        while len(live_after) < len(agents) and time.monotonic() - edited_at < 10:
            for agent in agents:
                if agent.instance not in live_after and NEW_RULE["id"] in rules(agent.draft(draft)):
                    live_after[agent.instance] = time.monotonic() - edited_at
            time.sleep(0.05)
        print(f"new rule live after (s): {live_after}")  # shown with pytest -s
        assert len(live_after) == len(agents), f"new rule live only on {live_after}"
        assert max(live_after.values()) <= LIVE_WITHIN, live_after
        for agent in agents:  # and each agent is told the lexicon changed (often while it
            # was still drafting: the frame is pushed the moment the new rules are in)
            if not any(f["type"] == "lexicon" for f in agent.frames):
                agent.expect(lambda f: f["type"] == "lexicon", timeout=3)
    finally:
        for agent in agents:
            agent.close()


def test_a_conversation_keeps_its_context_on_another_instance(cluster: Cluster, new_token) -> None:
    token = new_token("mover")
    first = Agent(cluster.ws_url).hello(token, "moving-conversation")
    control = Agent(cluster.ws_url).hello(token, "control-conversation")
    try:
        first.message("customer", "This is the third time I'm asking and I'm really frustrated.")
        first.message("sent", "I'm sorry, I can see how frustrating this has been.")
        follow_up = first.message("customer", "My order number is 4417.")
        control.message("customer", "This is the third time I'm asking and I'm really frustrated.")
    finally:
        first.close()
        control.close()
    time.sleep(2)  # the customer keeps waiting while the agent's browser reconnects

    elsewhere = first.instance
    moved = reconnect_elsewhere(cluster, token, "moving-conversation", avoid=elsewhere)
    moved_at = time.monotonic()
    moved_control = reconnect_elsewhere(cluster, token, "control-conversation", avoid=elsewhere)
    try:
        assert moved.ready["restored_messages"] == 3
        draft = "Please send me your delivery address so I can check the order."
        # The frustration was acknowledged before the move: no nudge about it now...
        assert "unacknowledged-feeling" not in rules(moved.draft(draft))
        # ...while the same feeling left unacknowledged still gets one after its move.
        assert "unacknowledged-feeling" in rules(moved_control.draft(draft))

        # The customer has been waiting since the follow-up, not since the reconnect.
        waiting = moved.expect(lambda f: f["type"] == "waiting", timeout=WAIT_SECONDS + 5)
        assert waiting["for"] == follow_up
        assert waiting["waited_seconds"] >= WAIT_SECONDS
        assert waiting["waited_seconds"] > time.monotonic() - moved_at + 1.5
    finally:
        moved.close()
        moved_control.close()


# --- helpers --------------------------------------------------------------------------------


def one_agent_per_instance(cluster: Cluster, new_token, prefix: str) -> list[Agent]:
    by_instance: dict[str, Agent] = {}
    for n in range(len(cluster.instance_ports)):
        agent = connect_elsewhere(cluster, avoid=set(by_instance))
        by_instance[agent.instance] = agent.hello(new_token(f"{prefix}-{n}"), f"{prefix}-{n}")
    return list(by_instance.values())


def reconnect_elsewhere(cluster: Cluster, token: str, conversation: str, avoid: str) -> Agent:
    """Reconnect through nginx to an instance other than `avoid`."""
    return connect_elsewhere(cluster, {avoid}).hello(token, conversation)


def connect_elsewhere(cluster: Cluster, avoid: set[str]) -> Agent:
    """Connect through nginx until an instance not in `avoid` answers. Connections that land
    on an avoided instance stay open meanwhile, as other agents' would: least_conn then
    prefers the other instances."""
    placeholders: list[Agent] = []
    try:
        for _ in range(10):
            agent = Agent(cluster.ws_url)
            if agent.instance not in avoid:
                return agent
            placeholders.append(agent)
        raise AssertionError(f"nginx kept choosing {avoid}")
    finally:
        for placeholder in placeholders:
            placeholder.close()


def set_team_wait(database_url: str, team: str, seconds: float) -> None:
    """What `flask --app server teams set-wait` does (in-process: each CLI run costs seconds)."""
    from assistant.storage import accounts
    from assistant.storage.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            accounts.get_or_create_team(session, team).wait_seconds = seconds
    finally:
        engine.dispose()


def add_rule(database_url: str, rule: dict[str, Any]) -> float:
    """Store one new rule and bump the lexicon version, as the lexicon editor does; returns
    the monotonic time of the commit."""
    from assistant.storage import lexicon_store
    from assistant.storage.db import make_engine, make_session_factory
    from assistant.storage.models import LexiconRule

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            session.add(LexiconRule(rule_id=lexicon_store.rule_key(rule), data=rule))
            lexicon_store.bump_version(session)
        return time.monotonic()
    finally:
        engine.dispose()


def _flask(database_url: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "server", *args],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url, "EMPATHY_DEMO": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"flask {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=0.5):
            return True
    except OSError:
        return False


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        f"host={PG_HOST} port={PG_PORT} user=postgres dbname=postgres", autocommit=True
    ) as connection:
        connection.execute(sql)
