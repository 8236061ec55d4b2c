"""Shared fixtures for a running Empathy Engine server.

* ``empathy_server`` (session): the real entry point, ``python server.py --port 0``, in a
  subprocess with a fresh SQLite file and the demo on. Attributes: ``url``
  ("http://127.0.0.1:PORT/"), ``ws_url`` ("ws://127.0.0.1:PORT/ws"), ``demo_url``, ``token``
  (a fresh agent's token, made with ``flask --app server agents create``), ``database_url``,
  and ``new_token(name, team="default")`` for more agents. Use it for browser/extension tests.
* ``start_server`` (function): ``start_server(database_url, **settings)`` runs ``create_app``
  in this process on a loopback port (werkzeug, threaded) and returns a ``LiveServer`` with ``url``,
  ``ws_url``, ``app``, ``runtime`` and ``new_token(name, team="default")``; stopped after the test.
* ``database_url`` (function, parametrised): a fresh SQLite file, and a fresh schema in a
  throwaway PostgreSQL database when 127.0.0.1:5432 is reachable (skipped with the reason
  otherwise).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PG_HOST, PG_PORT = "127.0.0.1", 5432


def _cli_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "EMPATHY_DEMO": "0"}


def mint_token_cli(database_url: str, name: str, team: str = "default") -> str:
    """`flask --app server agents create NAME --team TEAM`; the token is the last stdout line."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "server",
            "agents",
            "create",
            name,
            "--team",
            team,
        ],
        cwd=REPO,
        env=_cli_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@dataclass
class ServerProcess:
    url: str
    ws_url: str
    demo_url: str
    database_url: str
    token: str
    process: subprocess.Popen

    def new_token(self, name: str, team: str = "default") -> str:
        return mint_token_cli(self.database_url, name, team)


@pytest.fixture(scope="session")
def empathy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("empathy-server")
    database_url = f"sqlite:///{folder / 'empathy.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": database_url, "EMPATHY_DEMO": "1"}
    process = subprocess.Popen(
        [sys.executable, "server.py", "--host", "127.0.0.1", "--port", "0"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(folder / "server.log", "w"),  # noqa: SIM115 (lives as long as the process)
        text=True,
    )
    try:
        line = process.stdout.readline()  # "Empathy Engine serving on http://127.0.0.1:PORT/ ..."
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if not match:
            raise RuntimeError(f"server did not start: {line!r}; log: {folder / 'server.log'}")
        url = match.group(1)
        token = mint_token_cli(database_url, "test-agent")
        yield ServerProcess(
            url=url,
            ws_url=url.replace("http://", "ws://") + "ws",
            demo_url=url + "demo",
            database_url=database_url,
            token=token,
            process=process,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# --- in-process servers -------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    ws_url: str
    app: Any
    _server: Any = None
    _thread: threading.Thread | None = None
    tokens: list[str] = field(default_factory=list)

    @property
    def runtime(self) -> Any:
        return self.app.extensions["empathy"]

    def new_token(self, name: str = "agent", team: str = "default") -> str:
        from assistant.storage import accounts

        with self.runtime.sessions.begin() as session:
            agent = accounts.create_agent(session, name, team)
            token = accounts.mint_token(session, agent)
        self.tokens.append(token)
        return token

    def stop(self) -> None:
        self._server.shutdown()
        self.runtime.stop()


@pytest.fixture
def start_server() -> Iterator[Callable[..., LiveServer]]:
    from werkzeug.serving import make_server

    from assistant import create_app

    started: list[LiveServer] = []

    def start(database_url: str, **settings: Any) -> LiveServer:
        app = create_app({"DATABASE_URL": database_url, **settings})
        app.extensions["empathy"].start()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}/"
        live = LiveServer(url, f"ws://127.0.0.1:{server.server_port}/ws", app, server, thread)
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


# --- databases ----------------------------------------------------------------------------


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=0.5):
            return True
    except OSError:
        return False


def _pg_admin(sql: str, dbname: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(
        f"host={PG_HOST} port={PG_PORT} user=postgres dbname={dbname}", autocommit=True
    ) as connection:
        connection.execute(sql)


def _drop_schema(schema: str, dbname: str) -> None:
    """Drop a test's schema. A connection the finished test left behind (a writer thread still
    retrying, a transaction a cut-off client left open) can deadlock the DROP: tests run one at
    a time, so end every other connection to this throwaway database and try again."""
    import psycopg

    for attempt in range(5):
        try:
            _pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE", dbname)
            return
        except psycopg.errors.DeadlockDetected:
            _pg_admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()",
                dbname,
            )
            time.sleep(0.2 * (attempt + 1))
    _pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE", dbname)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """One throwaway PostgreSQL database per test session (None when unreachable)."""
    if not postgres_reachable():
        yield None
        return
    name = f"empathy_test_{secrets.token_hex(6)}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_database: str | None
) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own (cheaper than
    a database per test) selected through the connection's search_path."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empathy.sqlite3'}"
        return
    if postgres_database is None:
        pytest.skip(f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT}")
    schema = f"t_{secrets.token_hex(6)}"
    _pg_admin(f"CREATE SCHEMA {schema}", postgres_database)
    try:
        yield (
            f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{postgres_database}"
            f"?options=-csearch_path%3D{schema}"
        )
    finally:
        _drop_schema(schema, postgres_database)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    """One Playwright driver for the whole session: a second sync_playwright() while one is
    running fails ("Sync API inside the asyncio loop"), so every browser test shares this."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def chromium(playwright_instance: Any) -> Iterator[Any]:
    """Debian's chromium, headless (new mode), for a module's page tests without the extension
    (tests/browser/ launches its own, with the extension loaded)."""
    browser = playwright_instance.chromium.launch(
        executable_path="/usr/bin/chromium",
        headless=False,
        args=["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    )
    yield browser
    browser.close()
