"""Every client frame type and every error path, over a real websocket, on each database."""

from __future__ import annotations

import time

import pytest

from .client import Agent


def closed_with(agent: Agent) -> int:
    """Wait for the server to close; returns its close code (fails if it never closes)."""
    return agent.server_close_code()


def test_hello_then_draft_nudges_with_offsets(server, token):
    with Agent(server.ws_url) as agent:
        ready = agent.hello(token, "c1", customer_name="Dana", site="shop.example")
        assert ready["team"] == "support" and ready["wait_seconds"] == 60
        assert set(ready["questions"]) == {"1", "2", "3", "4", "5"}
        text = "Hello there. Please calm down, we will fix it."
        nudges = agent.draft("d1", text)
        (item,) = [i for i in nudges["items"] if i["rule"] == "test-calm-down"]
        assert text[item["start"] : item["end"]].lower() == "calm down"
        assert item["severity"] == "warning" and item["question"] == 2
        assert item["suggestions"] == ["I can hear how upsetting this is, Dana."]


def test_empty_items_when_nothing_is_wrong(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token)
        assert agent.draft("d1", "Sure, I'll check.")["items"] == []


def test_a_nudge_keeps_its_id_while_the_agent_edits(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token)
        first = agent.draft("d1", "Calm down")["items"][0]
        second = agent.draft("d2", "Calm down, I will look")["items"][0]
        assert first["id"] == second["id"]


def test_newer_draft_supersedes_one_still_waiting(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token)
        # A long draft keeps the server busy while the next drafts queue up behind it.
        long_text = "I am looking into your order right now. " * 450  # under the 20,000 limit
        frames = [{"type": "draft", "id": "long", "text": long_text}]
        frames += [{"type": "draft", "id": f"d{i}", "text": f"typing {i}"} for i in range(1, 6)]
        frames.append({"type": "draft", "id": "last", "text": "calm down"})
        agent.send_together(frames)
        answers = {}
        while "last" not in answers:
            frame = agent.expect("nudges")
            answers[frame["for"]] = frame
        assert len(answers) == 7  # every draft is answered...
        assert answers["last"]["items"][0]["rule"] == "test-calm-down"
        assert "superseded" not in answers["last"]
        # ...and the ones overtaken while an earlier one was analysed say so, with no items.
        # (How many are overtaken depends on how the frames arrive in the server's reads, so
        # only what a superseded answer looks like is asserted.)
        short = [answers[f"d{i}"] for i in range(1, 6)]
        assert all(frame["items"] == [] for frame in short)
        assert all(frame.get("superseded") in (None, True) for frame in answers.values())


def test_ping_pong(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token)
        agent.send({"type": "ping"})
        assert agent.expect("pong") == {"type": "pong"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad-json"),
        ("[1, 2]", "bad-json"),
        ('{"type": "teleport"}', "unknown-type"),
        ('{"text": "no type"}', "unknown-type"),
        ('{"type": "draft", "id": "d1"}', "bad-frame"),
        ('{"type": "draft", "id": 7, "text": "x"}', "bad-frame"),
        ('{"type": "customer", "id": "", "text": "x"}', "bad-frame"),
        ('{"type": "sent", "id": "s1", "text": "x", "ts": "yesterday"}', "bad-frame"),
        ('{"type": "feedback", "nudge": "n_1", "action": "loved"}', "bad-frame"),
        ('{"type": "draft", "id": "d1", "text": "\\ud800 lone surrogate"}', "bad-json"),
        ("[" * 50_000, "bad-json"),
    ],
)
def test_bad_frames_get_an_error_and_the_connection_goes_on(server, token, raw, code):
    with Agent(server.ws_url) as agent:
        agent.hello(token)
        agent.send(raw)
        error = agent.expect("error")
        assert error["code"] == code and error["message"]
        assert agent.draft("after", "calm down")["items"]  # still served


def test_bad_frame_error_names_the_frame_id_and_field(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token)
        agent.send({"type": "sent", "id": "s9", "text": 5})
        error = agent.expect("error")
        assert error["for"] == "s9" and "text" in error["message"]


def test_binary_frame_is_refused_but_not_fatal(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token)
        agent.ws.send(b"\x00\x01")
        assert agent.expect("error")["code"] == "binary-frame"
        agent.send({"type": "ping"})
        agent.expect("pong")


def test_second_hello_is_an_error_not_a_disconnect(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token)
        agent.send({"type": "hello", "token": token, "conversation": "other"})
        assert agent.expect("error")["code"] == "already-hello"
        agent.send({"type": "ping"})
        agent.expect("pong")


class TestLimits:
    @pytest.fixture
    def settings(self):
        return {"EMPATHY_MAX_FRAME_BYTES": 2000, "EMPATHY_FRAMES_PER_SECOND": 5.0,
                "EMPATHY_FRAME_BURST": 5.0}  # fmt: skip

    def test_oversized_frame_gets_an_error_and_the_connection_goes_on(self, server, token):
        with Agent(server.ws_url) as agent:
            agent.hello(token)
            agent.send({"type": "draft", "id": "big", "text": "a" * 5000})
            error = agent.expect("error")
            assert error["code"] == "frame-too-large" and "2000" in error["message"]
            time.sleep(0.3)  # let the bucket refill one frame
            assert agent.draft("small", "calm down")["items"]

    def test_too_many_frames_per_second_are_dropped_with_an_error(self, server, token):
        with Agent(server.ws_url) as agent:
            agent.hello(token)
            for i in range(30):
                agent.send({"type": "ping", "n": i})
            frames = []
            while len(frames) < 30:
                frames.append(agent.recv())
            kinds = [f["type"] for f in frames]
            assert 1 <= kinds.count("pong") <= 10
            assert all(f["code"] == "rate-limited" for f in frames if f["type"] == "error")
            assert kinds.count("pong") + kinds.count("error") == 30
            time.sleep(0.5)
            agent.send({"type": "ping"})
            agent.expect("pong")


class TestAuth:
    def test_frames_before_hello_are_refused_and_closed(self, server, token):
        with Agent(server.ws_url) as agent:
            agent.send({"type": "draft", "id": "d1", "text": "calm down"})
            error = agent.recv()
            assert error["type"] == "error" and error["code"] == "hello-required"
            assert closed_with(agent) == 1008

    def test_malformed_hello_is_refused_and_closed(self, server, token):
        with Agent(server.ws_url) as agent:
            agent.send({"type": "hello", "conversation": "c1"})
            assert agent.recv()["code"] == "hello-required"
            assert closed_with(agent) == 1008

    def test_unknown_token_is_refused_and_closed(self, server, token):
        with Agent(server.ws_url) as agent:
            agent.send({"type": "hello", "token": token + "x", "conversation": "c1"})
            assert agent.recv()["code"] == "bad-token"
            assert closed_with(agent) == 1008

    def test_revoked_token_is_refused(self, server, token):
        from assistant.storage import accounts

        with Agent(server.ws_url) as agent:
            agent.hello(token)
        with server.runtime.sessions.begin() as session:
            assert accounts.revoke_tokens(session, token=token) == 1
        with Agent(server.ws_url) as agent:
            agent.send({"type": "hello", "token": token, "conversation": "c1"})
            assert agent.recv()["code"] == "bad-token"
            assert closed_with(agent) == 1008

    def test_revoking_a_token_closes_its_open_connections(self, start_server, database_url):
        from assistant.storage import accounts

        server = start_server(database_url, EMPATHY_TOKEN_RECHECK=0.2)
        token = server.new_token("bob")
        with Agent(server.ws_url) as agent:
            agent.hello(token)
            agent.draft("d1", "calm down")
            with server.runtime.sessions.begin() as session:
                accounts.revoke_tokens(session, token=token)
            assert agent.expect("error", timeout=10)["code"] == "bad-token"
            assert closed_with(agent) == 1008

    def test_tokens_are_stored_hashed(self, server, token):
        from sqlalchemy import text

        with server.runtime.db.connect() as connection:
            stored = connection.execute(text("SELECT prefix, token_hash FROM agent_tokens")).all()
        assert all(token not in row.token_hash for row in stored)
        assert any(token.split("_")[1] == row.prefix for row in stored)


class TestHelloTimeout:
    @pytest.fixture
    def settings(self):
        return {"EMPATHY_HELLO_TIMEOUT": 0.5}

    def test_silent_client_is_closed(self, server):
        with Agent(server.ws_url) as agent:
            assert agent.recv()["code"] == "hello-timeout"
            assert closed_with(agent) == 1008


class TestOrigins:
    @pytest.fixture
    def settings(self):
        return {"EMPATHY_ALLOWED_ORIGINS": ["https://helpdesk.example.com"]}

    @pytest.mark.parametrize(
        "origin",
        [
            None,  # scripts and services send no Origin: the token decides
            "https://helpdesk.example.com",
            "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
        ],
    )
    def test_allowed(self, server, token, origin):
        with Agent(server.ws_url, origin=origin) as agent:
            agent.hello(token)

    def test_servers_own_pages_are_allowed(self, server, token):
        with Agent(server.ws_url, origin=server.url.rstrip("/")) as agent:
            agent.hello(token)

    def test_other_site_is_refused_even_with_a_valid_token(self, server, token):
        with Agent(server.ws_url, origin="https://evil.example") as agent:
            # Refused on connect, before any hello (a hijacking page never gets to use a token).
            assert agent.recv()["code"] == "origin-not-allowed"
            assert closed_with(agent) == 1008


class TestPinnedExtension:
    @pytest.fixture
    def settings(self):
        return {"EMPATHY_EXTENSION_IDS": ["abcdefghijklmnopabcdefghijklmnop"]}

    def test_pinned_id_allowed(self, server, token):
        origin = "chrome-extension://abcdefghijklmnopabcdefghijklmnop"
        with Agent(server.ws_url, origin=origin) as agent:
            agent.hello(token)

    def test_other_extension_refused(self, server, token):
        with Agent(
            server.ws_url, origin="chrome-extension://zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
        ) as a:
            assert a.recv()["code"] == "origin-not-allowed"
            assert closed_with(a) == 1008
