"""A client that stops reading must not hold up anyone else: acks are sent by each connection's
own thread (never by the storage writer), and a send that cannot finish closes that connection."""

from __future__ import annotations

import threading
import time

import pytest

from .client import Agent, StalledAgent


@pytest.fixture
def settings():
    return {
        "EMPATHY_FRAMES_PER_SECOND": 10_000.0,
        "EMPATHY_FRAME_BURST": 10_000.0,
        "EMPATHY_SEND_TIMEOUT": 1.0,
    }


def flood_without_reading(stalled: StalledAgent) -> None:
    """Messages to store, between frames whose (large) error replies fill the socket buffers."""
    try:
        for i in range(40):
            stalled.send({"type": "customer", "id": f"m{i}", "text": "hello"})
            for _ in range(5):
                stalled.send({"type": "x" * 50_000})
    except OSError:
        pass  # the server closed the connection


def test_a_client_that_stops_reading_does_not_block_storage_for_others(server, token, caplog):
    stalled = StalledAgent(server.ws_url)
    try:
        stalled.send({"type": "hello", "token": token, "conversation": "stalled"})
        flooding = threading.Thread(target=flood_without_reading, args=(stalled,), daemon=True)
        flooding.start()
        time.sleep(1.5)  # the stalled client's buffers are full by now
        with Agent(server.ws_url) as agent:
            agent.hello(token, "other")
            agent.send({"type": "customer", "id": "o1", "text": "Is anyone there?"})
            assert agent.expect("ack", timeout=5, id="o1")["duplicate"] is False
        # The server gives up on the client that never read (and says why).
        deadline = time.monotonic() + 10
        while "client stopped reading" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "client stopped reading" in caplog.text
        assert stalled.closed_by_server(timeout=10)
    finally:
        stalled.close()
