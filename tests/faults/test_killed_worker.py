"""kill -9 the gunicorn worker in the middle of a conversation (real gunicorn with
gunicorn.conf.py, one worker so the one serving the agent is known): the client reconnects to
the worker gunicorn starts in its place, gets nudges again, and every message (acked before the
kill, or unacked and resent after it) is stored exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import mint_token_cli
from tests.server.test_gunicorn import free_port, wait_for_port

from .conftest import TEST_LEXICONS, stored_ids
from .reliable import ReliableAgent

REPO = Path(__file__).resolve().parents[2]
KILLS = 3


def children(pid: int) -> list[int]:
    """Processes whose parent is pid (from /proc: no process names involved)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def one_worker(master: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = children(master)
        if len(workers) == 1:
            return workers[0]
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn master {master} has workers {children(master)}")


@pytest.fixture
def gunicorn(tmp_path: Path, database_url: str) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "EMPATHY_BIND": f"127.0.0.1:{port}",
        "EMPATHY_LEXICON_DIR": str(TEST_LEXICONS),
        "WEB_CONCURRENCY": "1",
        "EMPATHY_THREADS": "20",
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "server:app"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process)
        yield f"ws://127.0.0.1:{port}/ws", process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_killed_worker_loses_and_duplicates_nothing(gunicorn, database_url):
    ws_url, master = gunicorn
    agent = ReliableAgent(ws_url, mint_token_cli(database_url, "kill-agent"), "killed-worker")
    agent.connect()
    n = 0
    recovery: list[float] = []
    try:
        for _ in range(KILLS):
            worker = one_worker(master.pid)
            for _ in range(4):  # a conversation, each message acked
                agent.message("customer", f"m{n}", f"message {n}: I'm so frustrated")
                assert agent.draft(f"d{n}", "Please calm down.")["items"]
                agent.message("sent", f"m{n + 1}", f"reply {n + 1}: I'm on it")
                n += 2
            agent.drain()
            for _ in range(3):  # in flight when the worker dies: some acked, some not
                agent.message("customer", f"m{n}", f"message {n}: hello?")
                n += 1
            os.kill(worker, signal.SIGKILL)
            killed = time.monotonic()
            assert agent.draft(f"after-{n}", "Please calm down.")["items"]
            recovery.append(time.monotonic() - killed)
            assert one_worker(master.pid) != worker  # gunicorn started a new one
            agent.drain()
    finally:
        agent.close()

    figures = agent.figures
    expected = {f"m{i}" for i in range(n)}
    assert figures.acked == expected
    stored = stored_ids(database_url, "killed-worker")
    assert stored == dict.fromkeys(expected, 1), stored
    assert figures.reconnects >= KILLS
    print(
        f"kill -9: {KILLS} workers killed, {figures.messages_sent} messages sent "
        f"({figures.frames_sent} frames with resends), {len(figures.acked)} acked, "
        f"{sum(stored.values())} stored, lost 0; nudges again after "
        f"{', '.join(f'{s:.1f}' for s in recovery)} s"
    )
