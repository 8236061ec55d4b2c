"""Our analyser against alex and write-good on the same messages, in one run; and how our
analysis time per message grows with the size of the lexicon.

    bash bench/peers/setup.sh && .venv/bin/python bench/peers/run.py [--limit N]

Messages are the agent replies (SYSTEM turns) of ../shared/data/sgd/turns.tsv. Each tool
runs single-threaded over the same file; our figure is Engine.analyse with the default
lexicons. The scaling curve uses synthetic phrase rules built from words of the same
corpus (200, 2,000, 20,000 rules).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from assistant.engine import Engine, load_rules, rules_from_dicts  # noqa: E402

TURNS = REPO.parent / "shared" / "data" / "sgd" / "turns.tsv"


def agent_replies(limit: int) -> list[str]:
    with TURNS.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [r["utterance"] for r in rows if r["speaker"] == "SYSTEM"][:limit]


def our_rate(engine: Engine, messages: list[str]) -> tuple[float, int]:
    for message in messages[:200]:
        engine.analyse(message)
    started = time.perf_counter()
    flagged = sum(bool(engine.analyse(m)) for m in messages)
    return len(messages) / (time.perf_counter() - started), flagged


def peers(messages: list[str]) -> list[dict]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(m.replace("\n", " ") for m in messages))
    output = subprocess.run(
        ["node", str(HERE / "peers.mjs"), handle.name],
        capture_output=True, text=True, check=True, cwd=HERE,
    ).stdout  # fmt: skip
    Path(handle.name).unlink()
    return [json.loads(line) for line in output.splitlines()]


def synthetic_rules(count: int, vocabulary: list[str], seed: int = 7) -> list[dict]:
    """Distinct 2-4 word phrases from the corpus vocabulary, each a complete rule."""
    rng = random.Random(seed)
    phrases: set[str] = set()
    while len(phrases) < count:
        phrases.add(" ".join(rng.sample(vocabulary, rng.randint(2, 4))))
    return [
        {
            "id": f"synthetic-{n}", "patterns": [phrase], "category": "synthetic",
            "question": 1 + n % 5, "message": "m", "suggestions": ["s"],
            "examples": {"flags": [phrase], "passes": ["-"]},
        }
        for n, phrase in enumerate(sorted(phrases))
    ]  # fmt: skip


def scaling(messages: list[str]) -> list[tuple[int, float, float]]:
    vocabulary = sorted({w.lower() for m in messages[:5000] for w in m.split() if w.isalpha()})
    curve = []
    for count in (200, 2000, 20000):
        started = time.perf_counter()
        engine = Engine(rules_from_dicts(synthetic_rules(count, vocabulary)))
        compile_s = time.perf_counter() - started
        rate, _ = our_rate(engine, messages)
        curve.append((count, 1e6 / rate, compile_s))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=10000)
    args = parser.parse_args()
    if not TURNS.exists():
        sys.exit(f"{TURNS} not found: this benchmark reads ../shared beside the repository")
    messages = agent_replies(args.limit)
    ours, flagged = our_rate(Engine(load_rules(REPO / "lexicons")), messages)
    results = [{"tool": "empathy-engine", "per_second": ours, "flagged": flagged}]
    for peer in peers(messages):
        results.append({**peer, "per_second": peer["messages"] / peer["seconds"]})

    print(f"{len(messages)} agent replies from SGD, one core each\n")
    print("| analyser | messages/s | flagged | our speed-up |")
    print("| --- | ---: | ---: | ---: |")
    for r in results:
        rate = r["per_second"]
        print(f"| {r['tool']} | {rate:,.0f} | {r['flagged']} | {ours / rate:.1f}x |")
    print("\n| rules | µs per message | compile s |")
    print("| ---: | ---: | ---: |")
    for count, micros, compile_s in scaling(messages):
        print(f"| {count:,} | {micros:.1f} | {compile_s:.2f} |")


if __name__ == "__main__":
    main()
