"""How often ordinary, polite agent replies get a nudge, and from which rules.

    python bench/sgd_false_positives.py [--limit N] [--lexicons DIR] [--examples K]
                                         [--side SYSTEM|USER]

Reads ../shared/data/sgd/turns.tsv (service dialogues: restaurants, flights, banks…).
With --side SYSTEM (the default) it runs the agent rules over the agent's replies: these
are plain, polite booking replies, so every nudge there is noise an agent would learn to
ignore. With --side USER it runs the customer feeling detector over the customer's turns
(ordinary requests, rarely emotional). Prints a Markdown summary for docs/quality.md.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.engine import Engine, load_rules  # noqa: E402

TURNS = REPO.parent / "shared" / "data" / "sgd" / "turns.tsv"


def turns(side: str, limit: int) -> list[str]:
    with TURNS.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [r["utterance"] for r in rows if r["speaker"] == side][:limit]


def flagged_rules(engine: Engine, text: str, side: str) -> set[str]:
    findings = engine.analyse(text) if side == "SYSTEM" else engine.feelings(text)
    return {finding.rule for finding in findings}


def report(engine: Engine, texts: list[str], side: str, examples: int) -> str:
    per_rule: Counter[str] = Counter()
    samples: dict[str, list[str]] = defaultdict(list)
    flagged = 0
    for text in texts:
        rules = flagged_rules(engine, text, side)
        flagged += bool(rules)
        for rule in rules:
            per_rule[rule] += 1
            if len(samples[rule]) < examples:
                samples[rule].append(text)
    what = "agent replies" if side == "SYSTEM" else "customer turns with a feeling"
    lines = [
        f"{flagged} of {len(texts)} {what} flagged ({flagged / max(len(texts), 1):.1%})",
        "",
        "| rule | turns | share | e.g. |",
        "| --- | ---: | ---: | --- |",
    ]
    for rule, count in per_rule.most_common():
        example = samples[rule][0].replace("|", "\\|")[:90] if samples[rule] else ""
        lines.append(f"| {rule} | {count} | {count / len(texts):.2%} | {example} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=5000, help="first N turns of that side")
    parser.add_argument("--lexicons", default=str(REPO / "lexicons"))
    parser.add_argument("--examples", type=int, default=1, help="example turns kept per rule")
    parser.add_argument("--side", choices=("SYSTEM", "USER"), default="SYSTEM")
    args = parser.parse_args()
    if not TURNS.exists():
        sys.exit(f"{TURNS} not found: this benchmark reads ../shared (see its README)")
    engine = Engine(load_rules(args.lexicons))
    print(report(engine, turns(args.side, args.limit), args.side, args.examples))


if __name__ == "__main__":
    main()
