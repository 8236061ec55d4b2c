"""The short version of bench/fuzz_frames.py (100,000 frames, docs/benchmarks.md "Fuzzing"):
2,000 generated frames — valid, mutated, truncated, wrong types, huge, binary, odd unicode —
against `python server.py` over a real websocket. Every one is answered without an unhandled
exception, and the server still coaches a fresh connection at the end."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

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
