"""How fast the dashboard's numbers come at 100,000 conversations.

    python bench/dashboard.py [--conversations 100000] [--repeat 5]
        [--database sqlite|postgresql|both]

Seeds a fresh database with bench/transcripts_list.py's seeder (365 days of 2025, 10 teams of
20 agents, ~10 messages and ~3 nudges a conversation, feedback on 30% of nudges), adds a revision
of one rule in mid-year, then times everything the /dashboard page computes (the four chart
queries and the SVG; `views._charts`) and the rule before/after, for one team, every team and
one agent, over 30 days and over the whole year; the median of --repeat runs after a warm-up.

Prints a Markdown table for docs/benchmarks.md ("## Dashboard").
"""

from __future__ import annotations

import argparse
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sqlalchemy import Engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from transcripts_list import postgres_database, seed, sqlite_url  # noqa: E402

from assistant.dashboard import queries  # noqa: E402
from assistant.dashboard.views import _charts  # noqa: E402
from assistant.storage.db import make_engine, migrate  # noqa: E402
from assistant.storage.models import LexiconRevision, User  # noqa: E402

CHANGED_RULE = "rule-05"
MONTH = (date(2025, 6, 1), date(2025, 6, 30))
YEAR = (date(2025, 1, 1), date(2025, 12, 31))


def cases(session: Session, names: dict[str, Any]) -> list[tuple[str, Any]]:
    team = names["team_id"]
    agent = session.scalar(select(User.id).where(User.name == names["agent"]))
    out = []
    for label, scope_args in (
        ("one team", {"team_id": team}),
        ("every team", {}),
        ("one agent (/me)", {"agent_id": agent}),
    ):
        for span, (start, end), by in (("30 days", MONTH, "day"), ("365 days", YEAR, "week")):
            scope = queries.Scope(start, end, **scope_args)
            out.append((f"{label}, {span} by {by}", lambda s, sc=scope, b=by: _charts(s, sc, b)))
    for label, scope_args in (("one team", {"team_id": team}), ("every team", {})):
        scope = queries.Scope(*MONTH, **scope_args)
        out.append(
            (
                f"rule before/after, {label}",
                lambda s, sc=scope: queries.rule_change(s, sc, CHANGED_RULE, date(2026, 1, 1)),
            )
        )
    return out


def measure(db: Engine, names: dict[str, Any], repeat: int) -> list[tuple[str, float]]:
    results = []
    with Session(db) as session:
        for label, action in cases(session, names):
            action(session)  # warm-up
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                action(session)
                times.append(time.perf_counter() - started)
            results.append((label, statistics.median(times) * 1000))
            print(f"  {label}: {results[-1][1]:.0f} ms", flush=True)
    return results


def run(kind: str, args: argparse.Namespace) -> tuple[dict[str, Any], list[tuple[str, float]]]:
    drop, folder = None, None
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
        url = sqlite_url(str(folder))
    else:
        url, drop = postgres_database(None)
    db = make_engine(url)
    try:
        migrate(db)
        print(f"{kind}: seeding {args.conversations} conversations…", flush=True)
        names = seed(db, args.conversations, random.Random(7))
        with Session(db) as session, session.begin():
            session.add(
                LexiconRevision(
                    rule_key=CHANGED_RULE,
                    action="edit",
                    actor="bench",
                    created_at=datetime(2025, 6, 15, 12, tzinfo=UTC),
                )
            )
        print(f"{kind}: {names['messages']} messages, {names['nudges']} nudges", flush=True)
        return names, measure(db, names, args.repeat)
    finally:
        db.dispose()
        if drop:
            drop()
        if folder:
            shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = {kind: run(kind, args) for kind in kinds}
    first = next(iter(results.values()))[0]
    print(
        f"\n{args.conversations} conversations, {first['messages']} messages, "
        f"{first['nudges']} nudges; {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; median of {args.repeat}\n"
    )
    print("| what | " + " | ".join(f"{k} (ms)" for k in kinds) + " |")
    print("| --- | " + " | ".join("---:" for _ in kinds) + " |")
    labels = [label for label, _ in next(iter(results.values()))[1]]
    for i, label in enumerate(labels):
        print(f"| {label} | " + " | ".join(f"{results[k][1][i][1]:.0f}" for k in kinds) + " |")


if __name__ == "__main__":
    main()
