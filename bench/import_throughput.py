"""Transcript import throughput: messages per second importing ../shared/data/sgd/turns.tsv.

    python bench/import_throughput.py [--limit N] [--processes 1,2] [--databases sqlite,postgresql]
                                      [--repeat R]

For each database and process count: a fresh database (a SQLite file; a throwaway PostgreSQL
database on 127.0.0.1:5432, user postgres, skipped when unreachable), migrated and seeded with the
default lexicons, then `run_import` -- what `flask --app server transcripts import --preset sgd`
runs, minus the progress bar -- over the first N turns (default: all), best of R (default 2)
runs by wall time, each in a fresh process (as a CLI run
is), timed from the call to its return: reading, redacting, analysing (engine build and worker
start included), storing, committing.
CPU s: CPU time of the importing process and its workers together (what the import costs,
whatever else the machine is doing). Also times the analysis alone (redact + engine, one
process, no database) for scale. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TURNS = REPO.parent / "shared" / "data" / "sgd" / "turns.tsv"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def slice_of_turns(limit: int, folder: Path) -> tuple[Path, int]:
    lines = TURNS.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = lines[1 : limit + 1]
    path = folder / "turns.tsv"
    path.write_text(lines[0] + "".join(rows), encoding="utf-8")
    return path, len(rows)


def postgres_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres", autocommit=True) as db:
        db.execute(sql)


def run_one(database: str, processes: int, path: Path, folder: Path) -> dict:
    """In a fresh process: nothing compiled or cached from an earlier run."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", database, str(processes), str(path), str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def one(database: str, processes: int, path: Path, folder: Path) -> None:
    from assistant import create_app
    from assistant.transcripts.importer import run_import
    from assistant.transcripts.sources import options_for

    name = None
    if database == "sqlite":
        url = f"sqlite:///{folder / f'bench-{secrets.token_hex(4)}.sqlite3'}"  # fresh per run
    else:
        name = f"empathy_bench_{secrets.token_hex(4)}"
        pg_admin(f'CREATE DATABASE "{name}"')
        url = PG + name
    app = create_app({"DATABASE_URL": url, "EMPATHY_DEMO": False})
    try:
        runtime = app.extensions["empathy"]
        options = options_for("sgd", None, None, None)
        started, cpu = time.perf_counter(), time.process_time()
        report = run_import(path, options, runtime.sessions, processes=processes)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        workers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's, reaped at its end
    finally:
        app.extensions["empathy"].stop()
        if name:
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    cpu_all = cpu + workers.ru_utime + workers.ru_stime
    print(json.dumps({"seconds": elapsed, "cpu": cpu_all, **report.counts()}))


def analysis_only(path: Path) -> float:
    """Messages per second of redact + analyse alone (one process, no database)."""
    from assistant.engine import Engine, load_rules
    from assistant.transcripts.importer import analyse
    from assistant.transcripts.sources import Transcript, options_for, read

    engine = Engine(load_rules(str(REPO / "lexicons")))
    _, items = read(path, options_for("sgd", None, None, None))
    transcripts = [item for item in items if isinstance(item, Transcript)]
    count = sum(len(t.lines) for t in transcripts)
    started = time.perf_counter()
    for transcript in transcripts:
        transcript.team = "default"
        analyse(engine, transcript)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=100_000, help="turns (default: all)")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=2, help="best of R runs (wall time)")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.one:
        database, processes, path, folder = args.one
        one(database, int(processes), Path(path), Path(folder))
        return
    if not TURNS.exists():
        sys.exit(f"{TURNS} is missing")
    os.environ.pop("DATABASE_URL", None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path, rows = slice_of_turns(args.limit, folder)
        print(f"{rows:,} turns; {platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        print(f"\nanalysis alone (redact + engine, 1 process): {analysis_only(path):,.0f} msg/s\n")
        print("| database | processes | messages | findings | seconds | messages/s | CPU s |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for database in args.databases.split(","):
            if database == "postgresql" and not postgres_up():
                print(f"| {database} | – | skipped: not reachable on 127.0.0.1:5432 | | | | |")
                continue
            for processes in (int(p) for p in args.processes.split(",")):
                runs = [run_one(database, processes, path, folder) for _ in range(args.repeat)]
                result = min(runs, key=lambda run: run["seconds"])
                messages, seconds = result["messages"], result["seconds"]
                print(
                    f"| {database} | {processes} | {messages:,} | {result['findings']:,} | "
                    f"{seconds:.1f} | **{messages / seconds:,.0f}** | {result['cpu']:.1f} |",
                    flush=True,
                )
        print(f"\nload after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
