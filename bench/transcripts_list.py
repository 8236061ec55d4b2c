"""How fast the trainers' flagged-transcripts list answers at 100,000 conversations.

    python bench/transcripts_list.py [--conversations 100000] [--repeat 5]
        [--database sqlite|postgresql|both] [--keep DIR] [--keep-postgres NAME]

Seeds a fresh database (schema from the Alembic migrations, so with their indexes):
--conversations conversations over 365 days in 10 teams of 20 agents, ~10 messages each
(customer and agent turns taken from real dialogues in ../shared/data/sgd/turns.tsv), ~3
nudges per conversation (30 rules, every outcome), a finding on one agent reply in four, 5%
of conversations imported (findings, no nudges), 10% with no flag at all. Bulk inserts (Core
executemany), so seeding 1M messages takes a minute or two.

Then times `queries.flagged_page` (the whole page: ids, then the 50 rows' counts and rules)
for each filter, as an admin (every team) and as a team's trainer, first page and a page deep
in the list (after 100 pages' worth of keyset cursor); the median of --repeat runs after one
warm-up. PostgreSQL runs in a throwaway database on 127.0.0.1:5432 (user postgres), dropped
afterwards.

Prints a Markdown table for docs/benchmarks.md ("## Trainers' list").
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import Engine, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from assistant.storage.db import make_engine, migrate  # noqa: E402
from assistant.storage.models import (  # noqa: E402
    Conversation,
    Feedback,
    Message,
    MessageFinding,
    Nudge,
    Team,
    User,
)
from assistant.trainers import queries  # noqa: E402

TURNS = REPO.parent / "shared" / "data" / "sgd" / "turns.tsv"
START = datetime(2025, 1, 1, tzinfo=UTC)
RULES = [f"rule-{i:02d}" for i in range(30)]
RARE_RULE = "rule-rare"  # on about 1 conversation in 1,000
SEVERITIES = ("info", "suggestion", "warning")
BATCH = 20_000


def utterances() -> tuple[list[str], list[str]]:
    customer, agent = [], []
    with TURNS.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            (customer if row["speaker"] == "USER" else agent).append(row["utterance"])
    return customer, agent


def seed(db: Engine, count: int, rng: random.Random) -> dict[str, Any]:
    """Fill the database; returns names the timed filters use."""
    customer_lines, agent_lines = utterances()
    with Session(db) as session, session.begin():
        teams = [Team(name=f"team-{t}") for t in range(10)]
        session.add_all(teams)
        session.flush()
        agents = [
            User(name=f"agent-{t}-{a}", role="agent", team_id=team.id)
            for t, team in enumerate(teams)
            for a in range(20)
        ]
        session.add_all(agents)
        session.flush()
        agent_rows = [(a.id, a.team_id) for a in agents]
        team_ids = [t.id for t in teams]
    span = 365 * 24 * 3600
    conversations, messages, findings, nudges, feedback = [], [], [], [], []
    message_id = nudge_id = 0
    for cid in range(1, count + 1):
        agent_id, team_id = rng.choice(agent_rows)
        started = START + timedelta(seconds=rng.uniform(0, span))
        imported = rng.random() < 0.05
        conversations.append(
            {
                "id": cid,
                "team_id": team_id,
                "external_id": f"c{cid}",
                "agent_id": agent_id,
                "created_at": started,
                "source": "import" if imported else "live",
            }
        )
        quiet = rng.random() < 0.10
        moment = started
        agent_messages = []
        for turn in range(rng.randint(8, 12)):
            message_id += 1
            author = "customer" if turn % 2 == 0 else "agent"
            text = rng.choice(customer_lines if author == "customer" else agent_lines)
            if rng.random() < 0.0001:
                text += " zebra"  # the rare word the search looks for
            moment += timedelta(seconds=rng.uniform(5, 90))
            messages.append(
                {
                    "id": message_id,
                    "conversation_id": cid,
                    "client_id": f"m{turn}",
                    "author": author,
                    "text": text,
                    "sent_at": moment,
                    "stored_at": moment,
                }
            )
            if author == "agent":
                agent_messages.append(message_id)
        if quiet:
            continue
        if imported or rng.random() < 0.25:
            rule = RARE_RULE if rng.random() < 0.001 else rng.choice(RULES)
            findings.append(_finding(rng.choice(agent_messages), rule, rng))
        if imported:
            continue
        for _ in range(rng.randint(1, 5)):
            nudge_id += 1
            rule = RARE_RULE if rng.random() < 0.0003 else rng.choice(RULES)
            sent = rng.random() < 0.8
            nudges.append(
                {
                    "id": nudge_id,
                    "public_id": f"n{nudge_id}",
                    "conversation_id": cid,
                    "trigger": "draft",
                    "rule": rule,
                    "category": "bench",
                    "question": RULES.index(rule) % 5 + 1 if rule in RULES else 3,
                    "severity": _severity(rule),
                    "text": "flagged words",
                    "shown_at": moment,
                    "message_id": rng.choice(agent_messages) if sent else None,
                    "survived": rng.random() < 0.5 if sent else None,
                }
            )
            if rng.random() < 0.3:
                action = rng.choice(("applied", "applied", "dismissed", "unhelpful"))
                feedback.append({"nudge_id": nudge_id, "action": action, "created_at": moment})
    started = time.perf_counter()
    for model, rows in (
        (Conversation, conversations),
        (Message, messages),
        (MessageFinding, findings),
        (Nudge, nudges),
        (Feedback, feedback),
    ):
        _bulk(db, model, rows)
    if db.dialect.name == "postgresql":
        with db.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        with db.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return {
        "seconds": time.perf_counter() - started,
        "messages": len(messages),
        "nudges": len(nudges),
        "findings": len(findings),
        "agent": "agent-3-7",
        "team": "team-3",
        "team_id": team_ids[3],
    }


def _severity(rule: str) -> str:
    return SEVERITIES[RULES.index(rule) % 3] if rule in RULES else "warning"


def reused(db: Engine) -> dict[str, Any]:
    with Session(db) as session:
        team_id = session.scalar(select(Team.id).where(Team.name == "team-3"))
    return {"agent": "agent-3-7", "team": "team-3", "team_id": team_id}


def _finding(message_id: int, rule: str, rng: random.Random) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "rule": rule,
        "category": "bench",
        "question": RULES.index(rule) % 5 + 1 if rule in RULES else 3,
        "severity": _severity(rule),
        "start": 0,
        "end": 4,
        "text": "flag",
    }


def _bulk(db: Engine, model: type, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows, BATCH):
        with db.begin() as connection:
            connection.execute(insert(model), chunk)
    if db.dialect.name == "postgresql" and rows and "id" in rows[0]:
        table = model.__tablename__
        with db.begin() as connection:  # explicit ids: move the sequence past them
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def cases(names: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    return [
        ("no filter", {}),
        ("agent", {"agent": names["agent"]}),
        ("team", {"team": names["team"]}),
        ("date range (one week)", {"since": "2025-06-01", "until": "2025-06-07"}),
        ("question", {"question": "2"}),
        ("rule (common)", {"rule": "rule-07"}),
        ("rule (rare)", {"rule": RARE_RULE}),
        ("severity", {"severity": "warning"}),
        ("outcome: applied", {"outcome": "applied"}),
        ("outcome: dismissed", {"outcome": "dismissed"}),
        ("outcome: rewritten", {"outcome": "rewritten"}),
        ("outcome: sent anyway", {"outcome": "sent-anyway"}),
        ("search (rare word)", {"q": "zebra"}),
        ("search (common word)", {"q": "restaurant"}),
        (
            "agent + rule + outcome",
            {"agent": names["agent"], "rule": "rule-07", "outcome": "applied"},
        ),
    ]


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = action()  # warm-up (and the result, for the row count)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def deep_cursor(db: Engine, scope: queries.Scope, filters: queries.Filters) -> str:
    """The cursor 100 pages in (5,000 rows), found once, outside the timing."""
    with Session(db) as session:
        query = queries.flagged_ids_query(session, scope, filters).offset(5_000).limit(1)
        row = session.execute(query).first()
    return queries.encode_cursor(row.created_at, row.id) if row else ""


def measure(db: Engine, names: dict[str, Any], repeat: int) -> list[dict[str, Any]]:
    results = []
    for scope_name, scope in (
        ("admin", queries.Scope()),
        ("team trainer", queries.Scope(team_id=names["team_id"])),
    ):
        for label, args in cases(names):
            if scope_name != "admin" and label == "team":
                continue
            filters = queries.Filters.parse(args)
            cursor = deep_cursor(db, scope, filters)
            with Session(db) as session:

                def page(after: str, s=session, sc=scope, f=filters) -> Any:
                    return queries.flagged_page(s, sc, f, after)

                first, (rows, _) = timed(lambda: page(""), repeat)
                deep = timed(lambda c=cursor: page(c), repeat)[0] if cursor else None
            results.append(
                {
                    "scope": scope_name,
                    "filter": label,
                    "rows": len(rows),
                    "first": first,
                    "deep": deep,
                }
            )
            print(
                f"  {scope_name:12} {label:26} {len(rows):3} rows  {first:8.1f} ms  "
                f"{'' if deep is None else f'{deep:8.1f} ms'}",
                flush=True,
            )
    return results


def sqlite_url(keep: str | None) -> str:
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench-transcripts-"))
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'transcripts.sqlite3'}"  # a kept file is reused


def postgres_database(keep: str | None) -> tuple[str, Callable[[], None] | None]:
    """A throwaway database (dropped afterwards), or the named one, kept (and reused: seeded
    only when empty) so query plans can be studied between runs."""
    import psycopg

    name = keep or f"empathy_bench_{secrets.token_hex(4)}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if exists.fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", None if keep else drop


def run(kind: str, args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    drop = None
    url = sqlite_url(args.keep) if kind == "sqlite" else None
    if url is None:
        url, drop = postgres_database(args.keep_postgres)
    db = make_engine(url)
    try:
        migrate(db)
        with Session(db) as session:
            seeded = session.scalar(select(Conversation.id).limit(1)) is not None
        if seeded:
            print(f"{kind}: reusing the seeded database", flush=True)
            names = reused(db)
        else:
            print(f"{kind}: seeding {args.conversations} conversations…", flush=True)
            names = seed(db, args.conversations, random.Random(7))
            print(
                f"{kind}: {names['messages']} messages, {names['nudges']} nudges, "
                f"{names['findings']} findings inserted in {names['seconds']:.0f} s",
                flush=True,
            )
        return names, measure(db, names, args.repeat)
    finally:
        db.dispose()
        if drop:
            drop()


def table(all_results: dict[str, list[dict[str, Any]]]) -> str:
    kinds = list(all_results)
    head = "| viewer | filter | rows | " + " | ".join(
        f"{k} first page | {k} page 100" for k in kinds
    )
    lines = [head + " |", "|" + " --- |" * (3 + 2 * len(kinds))]
    first = all_results[kinds[0]]
    for i, row in enumerate(first):
        cells = [row["scope"], row["filter"], str(row["rows"])]
        for kind in kinds:
            other = all_results[kind][i]
            cells.append(f"{other['first']:.1f} ms")
            cells.append("–" if other["deep"] is None else f"{other['deep']:.1f} ms")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--keep", help="folder for the SQLite file (kept, and reused if seeded)")
    parser.add_argument(
        "--keep-postgres", metavar="NAME", help="PostgreSQL database to use and keep (reused)"
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = {}
    for kind in kinds:
        _, results[kind] = run(kind, args)
    print()
    print(
        f"{args.conversations} conversations; median of {args.repeat}; "
        f"{platform.machine()}, Python {platform.python_version()}"
    )
    print(table(results))


if __name__ == "__main__":
    main()
