"""Nothing a client sends can break its connection or the server: arbitrary frames after hello
each get at most an error, and the connection keeps answering."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .client import Agent

TYPES = ["hello", "customer", "draft", "sent", "feedback", "ping", "nudges", "", None, 7]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
frames = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(TYPES)},
        optional={
            "id": json_values, "text": json_values, "ts": json_values, "nudge": json_values,
            "action": json_values, "token": json_values, "conversation": json_values,
        },
    ).map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=60),
    st.sampled_from(["[" * 100_000, '{"type": "draft", "id": "x", "text": "\\ud800"}']),
)  # fmt: skip


@pytest.fixture
def fuzz_settings():
    return {"EMPATHY_FRAMES_PER_SECOND": 1e6, "EMPATHY_FRAME_BURST": 1e6}


def test_arbitrary_frames_never_break_the_connection(start_server, tmp_path, fuzz_settings):
    server = start_server(f"sqlite:///{tmp_path / 'fuzz.sqlite3'}", **fuzz_settings)
    token = server.new_token("fuzzer")
    with Agent(server.ws_url) as agent:
        agent.hello(token, "fuzz")

        @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
        @given(raw=frames)
        def check(raw: str) -> None:
            agent.send(raw)
            agent.send({"type": "ping"})
            while (frame := agent.recv())["type"] != "pong":
                assert frame["type"] in {"error", "nudges", "ack", "lexicon", "waiting"}
                if frame["type"] == "error":
                    assert frame["code"] != "internal", frame

        check()
