"""Per-message analysis latency and throughput on real agent replies.

    python bench/engine_latency.py [--limit N] [--repeat R] [--lexicons DIR]

Reads the agent side (SYSTEM) of ../shared/data/sgd/turns.tsv, analyses each reply
with the default lexicons (Engine.analyse) on one core, and compares with spaCy's bare
tokenizer (`nlp.make_doc`, Docs not kept) over the same lines. Prints a Markdown table
for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import gc
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.engine import Engine, load_rules  # noqa: E402

TURNS = REPO.parent / "shared" / "data" / "sgd" / "turns.tsv"


def agent_replies(limit: int) -> list[str]:
    with TURNS.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        replies = [r["utterance"] for r in rows if r["speaker"] == "SYSTEM"]
    return [text for text in replies if len(text) <= 500][:limit]


def timed(function, texts: list[str]) -> list[float]:
    samples = []
    clock = time.perf_counter_ns
    for text in texts:
        start = clock()
        function(text)
        samples.append((clock() - start) / 1e6)
    return samples


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lexicons", default=str(REPO / "lexicons"))
    args = parser.parse_args()
    if not TURNS.exists():
        sys.exit(f"{TURNS} not found: this benchmark reads ../shared beside the repository")

    texts = agent_replies(args.limit)
    rules = load_rules(args.lexicons)
    started = time.perf_counter()
    engine = Engine(rules)
    compile_ms = (time.perf_counter() - started) * 1000
    tokenizer = engine.nlp.make_doc
    for text in texts[:500]:  # warm both paths: vocab, caches
        engine.analyse(text)
        tokenizer(text)

    gc.disable()
    best: dict[str, list[float]] = {}
    for _ in range(args.repeat):  # best of R runs: the machine is shared and noisy
        for name, function in (("tokenizer", tokenizer), ("analyse", engine.analyse)):
            samples = timed(function, texts)
            if name not in best or sum(samples) < sum(best[name]):
                best[name] = samples
    gc.enable()

    flagged = sum(bool(engine.analyse(t)) for t in texts)
    total = {name: sum(samples) for name, samples in best.items()}
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"{len(texts)} agent replies (<= 500 chars, mean {statistics.mean(map(len, texts)):.0f})")
    print(
        f"{len(engine)} active rules, compiled in {compile_ms:.0f} ms; {flagged} replies flagged\n"
    )
    print("| path | p50 ms | p99 ms | max ms | messages/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, samples in best.items():
        rate = len(samples) / (total[name] / 1000)
        print(
            f"| {name} | {percentile(samples, 50):.3f} | {percentile(samples, 99):.3f} "
            f"| {max(samples):.3f} | {rate:,.0f} |"
        )
    print(f"\nanalysis / bare tokenizer: {total['analyse'] / total['tokenizer']:.2f}x")


if __name__ == "__main__":
    main()
