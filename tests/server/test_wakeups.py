"""The connection loop sleeps until there is something to do: frames, acks posted by the writer,
a lexicon change (the poll wakes every open connection); and the rate limit judges frames by
when they arrived, so a backlog after a stall is not mistaken for a burst."""

from __future__ import annotations

import socket
import time

from assistant.live.connection import OPEN, AgentConnection
from assistant.live.limits import RateLimiter
from assistant.storage import accounts, lexicon_store

from .client import Agent


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_frames_are_limited_by_arrival_time_not_handling_time():
    clock = FakeClock()
    clock.now = 80.0
    limiter = RateLimiter(rate=2, burst=2, clock=clock)
    # Ten frames arrived one second apart (2/s allowed), but the loop only got to them now.
    arrivals = [90.0 + i for i in range(10)]
    clock.now = 120.0
    assert all(limiter.allow(at) for at in arrivals)
    # The same ten frames arriving all at once are a burst.
    assert [limiter.allow(120.0) for _ in range(4)] == [True, True, False, False]


def test_arrival_times_never_go_back():
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    assert limiter.allow(100.0)
    assert not limiter.allow(50.0)  # earlier than the last frame: no refill, no negative time


def test_an_idle_connection_does_not_wake_on_the_lexicon_poll(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "idle")
        (connection,) = mine(token)
        # The test server polls the lexicons every 0.2 s; the loop sleeps until woken.
        assert server.runtime.lexicons.poll_seconds == 0.2
        assert connection.next_wakeup() is None


def test_a_lexicon_change_wakes_connections_at_once(server, token):
    """An idle agent hears about a lexicon change although its loop sleeps until woken."""
    with Agent(server.ws_url) as agent:
        ready = agent.hello(token, "wake")
        with server.runtime.sessions.begin() as session:
            lexicon_store.bump_version(session)
        frame = agent.expect("lexicon", timeout=10)
        assert frame["version"] > ready["lexicon_version"]


def test_connections_leave_the_wake_list_when_they_close(server, token):
    with Agent(server.ws_url) as agent:
        agent.hello(token, "leave")
        assert mine(token)
    deadline = time.monotonic() + 10  # the server notices the close on its own time
    while mine(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not mine(token)


def mine(token: str) -> list[AgentConnection]:
    return [c for c in list(OPEN._members) if c.token == token]


def test_the_token_sweep_closes_only_the_revoked_connections(start_server, database_url):
    """One query re-checks every open connection's token; the others go on working."""
    server = start_server(database_url, EMPATHY_TOKEN_RECHECK=0.2)
    kept, revoked = server.new_token("kept"), server.new_token("gone")
    with Agent(server.ws_url) as stays, Agent(server.ws_url) as goes:
        stays.hello(kept, "sweep-1")
        goes.hello(revoked, "sweep-2")
        with server.runtime.sessions.begin() as session:
            accounts.revoke_tokens(session, token=revoked)
        assert goes.expect("error", timeout=10)["code"] == "bad-token"
        assert stays.draft("d1", "calm down")["items"]
        assert stays.customer("m1", "still there?")["duplicate"] is False


def test_a_send_racing_the_clients_close_ends_the_connection_quietly(server):
    """The client's close can reach the protocol state (on the reader thread) between the
    connection's liveness check and its send: that is a closing connection, not a crash."""
    from wsproto.events import CloseConnection

    from assistant.live.websocket import AgentSocket

    ours, theirs = socket.socketpair()
    environ = {
        "werkzeug.socket": ours, "HTTP_HOST": "localhost", "HTTP_UPGRADE": "websocket",
        "HTTP_CONNECTION": "Upgrade", "HTTP_SEC_WEBSOCKET_VERSION": "13",
        "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==",
    }  # fmt: skip
    try:
        ws = AgentSocket(environ)
        connection = AgentConnection(ws, server.runtime, origin_ok=True)
        ws.ws.send(CloseConnection(code=1000))  # the protocol is closing, `connected` not yet
        assert ws.connected
        assert connection.send({"type": "pong"}) is False
        assert connection.closed
    finally:
        theirs.close()
        ours.close()


def test_the_websocket_declines_compression_even_when_the_browser_offers_it(server):
    """Browsers always offer permessage-deflate; /ws (flask-sock with our socket class) must
    answer the upgrade without it. Would fail if flask-sock stopped using AgentSocket."""
    host, port = server.ws_url.split("//", 1)[1].split("/", 1)[0].split(":")
    request = (
        f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = raw.recv(4096)
            assert chunk, f"connection closed during the handshake: {answer!r}"
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert head.startswith("http/1.1 101")
    assert "sec-websocket-extensions" not in head
