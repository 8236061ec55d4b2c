"""The production configuration: gunicorn with gunicorn.conf.py serves the websocket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .client import Agent

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("gunicorn did not start listening")


@pytest.fixture
def gunicorn_server(tmp_path):
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'empathy.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": database_url, "EMPATHY_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "EMPATHY_THREADS": "20"}  # fmt: skip
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "server:app"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, process)
        yield f"ws://127.0.0.1:{port}/ws", database_url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_gunicorn_serves_agents_on_two_workers(gunicorn_server):
    ws_url, database_url = gunicorn_server
    token = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "server", "agents", "create", "gunicorn-agent"],
        cwd=REPO, env={**os.environ, "DATABASE_URL": database_url}, capture_output=True,
        text=True, timeout=120, check=True,
    ).stdout.splitlines()[-1]  # fmt: skip
    # Several connections land on both workers; each restores the same conversation.
    for i in range(4):
        with Agent(ws_url) as agent:
            ready = agent.hello(token, "g-1")
            assert ready["restored_messages"] == i
            assert agent.draft(f"d{i}", "Please calm down.")["items"]
            agent.customer(f"m{i}", "hello?")
