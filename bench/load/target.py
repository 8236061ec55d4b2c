"""The server under load: a throwaway database, agents with tokens, gunicorn, and /proc figures.

The server runs exactly as in production, `gunicorn -c gunicorn.conf.py server:app`, with only
the bind address (and any extra arguments the caller gives) added on the command line.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- database ---------------------------------------------------------------------------


def create_database(kind: str, folder: Path) -> str:
    """A fresh SQLite file or a throwaway PostgreSQL database; returns its URL."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'load.sqlite3'}"
    import psycopg

    name = f"empathy_load_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import psycopg

    name = url.rsplit("/", 1)[-1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "EMPATHY_DEMO": "0"}


def init_database(database_url: str) -> None:
    """Schema and default lexicons, by the server's own CLI."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "server", "init-db"],
        cwd=REPO,
        env=server_env(database_url),
        check=True,
        capture_output=True,
        timeout=300,
    )


def mint_tokens(database_url: str, count: int, team: str = "load") -> list[str]:
    """One agent and token per simulated agent, in one transaction (the CLI would take minutes
    for a thousand: it starts a Python process per agent)."""
    sys.path.insert(0, str(REPO))
    from assistant.storage import accounts
    from assistant.storage.db import make_engine, make_session_factory

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            agents = [accounts.create_agent(session, f"load-{n}", team) for n in range(count)]
            return [accounts.mint_token(session, agent) for agent in agents]
    finally:
        engine.dispose()


# --- gunicorn ---------------------------------------------------------------------------


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_gunicorn(
    database_url: str,
    folder: Path,
    extra_args: list[str],
    port: int | None = None,
    config: str = "gunicorn.conf.py",
) -> Gunicorn:
    port = port or free_port()
    log_path = folder / f"gunicorn-{port}.log"
    command = [
        sys.executable, "-m", "gunicorn", "-c", config, "server:app",
        "--bind", f"127.0.0.1:{port}", *extra_args,
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=server_env(database_url),
        stdout=subprocess.DEVNULL,
        stderr=log_path.open("w"),
    )
    server = Gunicorn(process, port, log_path)
    wait_until_serving(server)
    return server


def wait_until_serving(server: Gunicorn, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {server.log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means a worker is serving
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer within {timeout}s; see {server.log_path}")


# --- /proc --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    cpu_seconds: float  # user + system since start
    rss_bytes: int
    threads: int
    sockets: int  # open sockets: about one per connected agent, plus database connections


def sample(pid: int) -> ProcessSample | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        statm = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime and stime are fields 14 and 15, num_threads 20.
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return ProcessSample(pid, cpu, int(statm[1]) * PAGE_SIZE, int(fields[17]), count_sockets(pid))


def count_sockets(pid: int) -> int:
    count = 0
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                count += os.readlink(fd).startswith("socket:")
    except OSError:
        pass
    return count


def sample_all(pids: list[int]) -> dict[int, ProcessSample]:
    return {pid: s for pid in pids if (s := sample(pid)) is not None}
