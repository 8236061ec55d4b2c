"""Load harness: N simulated agents against the real server, figures per step, and a plot.

    python bench/load/run.py [--steps 100,250,500,750,1000] [--hold 30] [--database sqlite]
                             [--url ws://HOST:PORT/ws --server-pid PID] [-- GUNICORN ARGS...]

Without --url it starts `gunicorn -c gunicorn.conf.py server:app` on a free loopback port with
a throwaway database (SQLite file or PostgreSQL at 127.0.0.1:5432), mints one token per agent,
then connects agents step by step. At each step it holds for --hold seconds and reports drafts
answered / lost, draft -> nudges latency (p50/p95/p99), ack latency, server CPU and RSS per
worker, and the load generator's own CPU. Results go to bench/load/results/ (JSON, Markdown and
latency-vs-agents.png). Arguments after `--` go to gunicorn (e.g. `-- --workers 2 --threads 600`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from agents import Agent, Stats, load_corpus
from target import (
    Gunicorn,
    create_database,
    drop_database,
    init_database,
    mint_tokens,
    sample_all,
    start_gunicorn,
)

RESULTS = Path(__file__).resolve().parent / "results"
LOST_AFTER = 5.0  # seconds without an answer before a draft or message counts as lost


@dataclass
class StepResult:
    agents: int
    connected: int
    seconds: float
    drafts: int
    drafts_answered: int
    drafts_lost: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    ack_p99_ms: float
    messages_lost: int
    server_cpu_percent: float  # of one core, master + workers
    worker_rss_mib: list[float]
    worker_threads: list[int]
    worker_sockets: list[int]
    worker_cpu_percent: list[float]
    generator_cpu_percent: float
    load_average: float  # 1-minute, whole machine (other work shows up here)


def percentile(samples: list[float], p: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def generator_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoadRun:
    def __init__(self, url: str, tokens: list[str], pids: callable, args: argparse.Namespace):
        self.url = url
        self.tokens = tokens
        self.pids = pids  # -> server process ids to sample (master and workers)
        self.args = args
        self.corpus = load_corpus()
        self.stats = Stats()
        self.agents: list[Agent] = []
        self.tasks: list[asyncio.Task] = []
        self.steps: list[StepResult] = []

    async def ramp_to(self, count: int) -> None:
        """Open connections at --ramp-rate per second until `count` agents are connected."""
        while len(self.agents) < count:
            number = len(self.agents)
            agent = Agent(
                number,
                self.url,
                self.tokens[number],
                self.corpus,
                self.stats,
                self.args.interval,
                compression=not self.args.no_compression,
            )
            self.agents.append(agent)
            self.tasks.append(asyncio.create_task(agent.run()))
            await asyncio.sleep(1 / self.args.ramp_rate)
        deadline = time.monotonic() + 60
        while self.stats.connected + self.stats.connect_failures < count:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)

    async def measure(self, count: int) -> StepResult:
        await asyncio.sleep(2 * self.args.interval)  # let the new agents settle into their pace
        self.stats.take_window()
        sent_before, answered_before = self.stats.drafts_sent, self.stats.drafts_answered
        before, cpu_before, t0 = sample_all(self.pids()), generator_cpu(), time.monotonic()
        await asyncio.sleep(self.args.hold)
        after, cpu_after, t1 = sample_all(self.pids()), generator_cpu(), time.monotonic()
        drafts, acks = self.stats.take_window()
        lost_drafts, lost_messages = self.lost()
        elapsed = t1 - t0
        server_cpu = sum(
            after[pid].cpu_seconds - before[pid].cpu_seconds for pid in after if pid in before
        )
        workers = sorted(after.values(), key=lambda s: s.pid)[1:]  # the first is the master
        result = StepResult(
            agents=count,
            connected=self.stats.connected,
            seconds=round(elapsed, 1),
            drafts=self.stats.drafts_sent - sent_before,
            drafts_answered=self.stats.drafts_answered - answered_before,
            drafts_lost=lost_drafts,
            p50_ms=round(percentile(drafts, 50) * 1000, 2),
            p95_ms=round(percentile(drafts, 95) * 1000, 2),
            p99_ms=round(percentile(drafts, 99) * 1000, 2),
            max_ms=round(max(drafts, default=float("nan")) * 1000, 2),
            ack_p99_ms=round(percentile(acks, 99) * 1000, 2),
            messages_lost=lost_messages,
            server_cpu_percent=round(100 * server_cpu / elapsed, 1),
            worker_rss_mib=[round(s.rss_bytes / 2**20, 1) for s in workers],
            worker_threads=[s.threads for s in workers],
            worker_sockets=[s.sockets for s in workers],
            worker_cpu_percent=[
                round(100 * (s.cpu_seconds - before[s.pid].cpu_seconds) / elapsed, 1)
                for s in workers
                if s.pid in before
            ],
            generator_cpu_percent=round(100 * (cpu_after - cpu_before) / elapsed, 1),
            load_average=round(os.getloadavg()[0], 2),
        )
        print(format_row(result), flush=True)
        return result

    def lost(self) -> tuple[int, int]:
        drafts = messages = 0
        for agent in self.agents:
            d, m = agent.lost(LOST_AFTER)
            drafts, messages = drafts + d, messages + m
        return drafts, messages

    async def run(self, steps: list[int]) -> dict:
        print(TABLE_HEADER, flush=True)
        for count in steps:
            await self.ramp_to(count)
            self.steps.append(await self.measure(count))
        for agent in self.agents:
            agent.stopping = True
        await asyncio.sleep(LOST_AFTER)  # answers still in flight may arrive
        lost_drafts, lost_messages = self.lost()
        for agent in self.agents:
            if agent.ws is not None:
                await agent.ws.close()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        return {
            "drafts_sent": self.stats.drafts_sent,
            "drafts_answered": self.stats.drafts_answered,
            "drafts_superseded": self.stats.drafts_superseded,
            "drafts_lost": lost_drafts,
            "messages_sent": self.stats.messages_sent,
            "messages_acked": self.stats.messages_acked,
            "messages_lost": lost_messages,
            "nudges_received": self.stats.nudges_received,
            "connect_failures": self.stats.connect_failures,
            "disconnects": self.stats.disconnects,
            "errors": self.stats.errors,
        }


TABLE_HEADER = (
    "| agents | drafts | answered | lost | p50 ms | p95 ms | p99 ms | max ms | ack p99 ms "
    "| server CPU % | CPU % per worker | RSS per worker MiB | sockets per worker "
    "| threads per worker | generator CPU % | load avg |\n"
    "|" + " ---: |" * 10 + " --- | --- | --- | --- | ---: | ---: |"
)


def format_row(r: StepResult) -> str:
    rss = " / ".join(f"{m:.0f}" for m in r.worker_rss_mib)
    cpu = " / ".join(f"{c:.0f}" for c in r.worker_cpu_percent)
    sockets = " / ".join(str(n) for n in r.worker_sockets)
    threads = " / ".join(str(t) for t in r.worker_threads)
    return (
        f"| {r.connected} | {r.drafts} | {r.drafts_answered} | {r.drafts_lost} | {r.p50_ms:.1f} "
        f"| {r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.max_ms:.1f} | {r.ack_p99_ms:.1f} "
        f"| {r.server_cpu_percent:.0f} | {cpu} | {rss} | {sockets} | {threads} "
        f"| {r.generator_cpu_percent:.0f} "
        f"| {r.load_average:.1f} |"
    )


def memory_per_connection(steps: list[StepResult]) -> float | None:
    """KiB of server RSS per extra connection, from the first to the last step."""
    if len(steps) < 2 or steps[-1].connected == steps[0].connected:
        return None
    grown = sum(steps[-1].worker_rss_mib) - sum(steps[0].worker_rss_mib)
    return 1024 * grown / (steps[-1].connected - steps[0].connected)


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    cores = len(os.sched_getaffinity(0))
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    return f"{cores} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}"


def raise_open_files_limit() -> int:
    """Each agent is one socket here and one (plus the proxy's) on the server: lift the soft
    limit to the hard one; gunicorn, our child, inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def parse_args() -> tuple[argparse.Namespace, list[str]]:
    argv = sys.argv[1:]
    gunicorn_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="100,250,500,750,1000")
    parser.add_argument("--hold", type=float, default=30, help="seconds measured per step")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between drafts")
    parser.add_argument("--ramp-rate", type=float, default=100, help="new connections/s")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help="an already running server's ws:// URL (no gunicorn)")
    parser.add_argument("--tokens", help="with --url: a file with one agent token per line")
    parser.add_argument("--server-pid", type=int, help="with --url: its gunicorn master pid")
    parser.add_argument("--config", default="gunicorn.conf.py", help="gunicorn config file")
    parser.add_argument("--name", default="load", help="results file name")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument(
        "--no-compression", action="store_true", help="don't offer permessage-deflate"
    )
    return parser.parse_args(argv), gunicorn_args


def main() -> None:
    args, gunicorn_args = parse_args()
    steps = [int(n) for n in args.steps.split(",")]
    open_files = raise_open_files_limit()
    if open_files < 2 * max(steps) + 100:
        sys.exit(f"open files limit {open_files} is too low; raise `ulimit -n`")
    RESULTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="empathy-load-") as scratch:
        if args.url:
            report = run_against_url(args, steps)
        else:
            report = run_against_gunicorn(args, steps, gunicorn_args, Path(scratch))
    write_results(args, report)


def run_against_url(args: argparse.Namespace, steps: list[int]) -> dict:
    if not args.tokens:
        sys.exit("--url needs --tokens FILE (one agent token per line)")
    tokens = Path(args.tokens).read_text().split()
    pids = _pids_of(args.server_pid)
    load = LoadRun(args.url, tokens, pids, args)
    totals = asyncio.run(load.run(steps))
    return {"server": f"{args.url} (pid {args.server_pid})", "steps": load.steps, **totals}


def run_against_gunicorn(
    args: argparse.Namespace, steps: list[int], gunicorn_args: list[str], scratch: Path
) -> dict:
    database_url = create_database(args.database, scratch)
    server: Gunicorn | None = None
    try:
        print(f"database: {args.database}; minting {max(steps)} agent tokens", flush=True)
        init_database(database_url)
        tokens = mint_tokens(database_url, max(steps))
        server = start_gunicorn(database_url, scratch, gunicorn_args, config=args.config)
        command = " ".join([f"gunicorn -c {args.config} server:app", *gunicorn_args])
        print(f"server: {command} on port {server.port}", flush=True)
        load = LoadRun(
            server.ws_url, tokens, lambda: [server.process.pid, *server.worker_pids()], args
        )
        totals = asyncio.run(load.run(steps))
        return {"server": command, "database": args.database, "steps": load.steps, **totals}
    finally:
        if server:
            server.stop()
            shutil.copy(server.log_path, RESULTS / f"{args.name}-gunicorn.log")
        drop_database(database_url)


def _pids_of(master: int | None):
    def pids() -> list[int]:
        if master is None:
            return []
        children = Path(f"/proc/{master}/task/{master}/children")
        return [master, *(int(p) for p in children.read_text().split())]

    return pids


def write_results(args: argparse.Namespace, report: dict) -> None:
    steps: list[StepResult] = report["steps"]
    per_connection = memory_per_connection(steps)
    report = {
        **report,
        "steps": [asdict(s) for s in steps],
        "memory_per_connection_kib": per_connection and round(per_connection, 1),
        "machine": machine(),
        "interval_s": args.interval,
        "hold_s": args.hold,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    stem = RESULTS / args.name
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [TABLE_HEADER, *(format_row(s) for s in steps)]
    summary = (
        f"\ntotal: {report['drafts_sent']} drafts, {report['drafts_answered']} answered, "
        f"{report['drafts_lost']} lost; {report['messages_sent']} customer/sent messages, "
        f"{report['messages_acked']} acked, {report['messages_lost']} lost; "
        f"{report['connect_failures']} failed connections, {report['disconnects']} dropped; "
        f"errors {report['errors'] or 'none'}"
    )
    if per_connection is not None:
        summary += f"\nserver memory per connection: {per_connection:.0f} KiB"
    summary += f"\nmachine: {report['machine']}; server: {report['server']}"
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n" + summary + "\n")
    print(summary)
    if not args.no_plot:
        from plot import plot_latency

        png = plot_latency(report, stem.parent / f"{args.name}-latency-vs-agents.png")
        print(f"plot: {png}")


if __name__ == "__main__":
    main()
