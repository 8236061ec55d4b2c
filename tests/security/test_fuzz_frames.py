"""The short version of bench/fuzz_frames.py (100,000 frames, docs/benchmarks.md "Fuzzing"):
2,000 generated frames — valid, mutated, truncated, wrong types, huge, binary, odd unicode —
against `python server.py` over a real websocket. Every one is answered without an unhandled
exception, and the server still coaches a fresh connection at the end."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import sys
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.server.client import Agent

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_frames.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("fuzz_frames", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_two_thousand_generated_frames_are_answered_without_an_unhandled_exception():
    result = load_bench().run(frames=2_000, seed=2)
    assert result.frames == 2_000
    assert set(result.kinds) >= {"valid", "mutated", "truncated", "wrong-type", "huge", "binary"}
    # Every kind of refusal was exercised, and answered with its documented code.
    for code in ("bad-json", "bad-frame", "binary-frame", "unknown-type", "frame-too-large"):
        assert result.errors[code] > 0, result.errors
    assert result.errors["internal"] == 0, result.errors
    assert result.log_failures == 0, result.log_excerpt
    assert result.received["ack"] > 0 and result.received["nudges"] > 0
    assert result.answering_at_end


@pytest.mark.xfail(
    reason="found by bench/fuzz_frames.py, reported to the live server's owner: a message over "
    "the 1 MB websocket limit makes the library close (1009); an ack posted in the meantime is "
    "then sent on the closing socket, wsproto raises LocalProtocolError, which send() does not "
    "catch, and the connection ends in 'websocket connection failed' (ERROR, HTTP 500)",
    strict=False,
)
def test_an_over_limit_message_closes_the_connection_without_an_unhandled_exception(
    start_server, tmp_path
):
    server = start_server(
        f"sqlite:///{tmp_path / 'big.sqlite3'}",
        EMPATHY_FRAMES_PER_SECOND=1e6,
        EMPATHY_FRAME_BURST=1e6,
    )
    token = server.new_token("big")
    big = json.dumps({"type": "customer", "id": "big", "text": "x" * 1_100_000})
    errors: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: errors.append(record.getMessage())
    logging.getLogger().addHandler(handler)
    for round_ in range(10):  # the ack has to land while the socket is closing: a race
        with Agent(server.ws_url, max_size=None) as agent:
            agent.hello(token, "big")
            for i in range(5):
                agent.send({"type": "customer", "id": f"r{round_}-{i}", "text": "hello?"})
            with contextlib.suppress(ConnectionClosed):
                agent.ws.send(big)
            assert agent.server_close_code(timeout=15) == 1009
    logging.getLogger().removeHandler(handler)
    assert errors == []
