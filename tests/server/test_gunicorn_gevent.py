"""gunicorn.conf.py with EMPATHY_WORKER_CLASS=gevent: the greenlet server keeps the protocol's
guarantees (answers, acks after storage, lexicon pushes) and psycopg waits cooperatively."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .client import Agent
from .test_gunicorn import REPO, free_port, wait_for_port


@pytest.fixture
def gevent_server(tmp_path):
    pytest.importorskip("gevent")
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'empathy.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": database_url, "EMPATHY_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "1", "EMPATHY_WORKER_CLASS": "gevent"}  # fmt: skip
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "server:app"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_port(port, process)
            yield f"ws://127.0.0.1:{port}/ws", database_url, log_path
        finally:
            process.terminate()
            process.wait(timeout=20)


def test_gevent_workers_serve_agents(gevent_server):
    ws_url, database_url, log_path = gevent_server
    token = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "server", "agents", "create", "gevent-agent"],
        cwd=REPO, env={**os.environ, "DATABASE_URL": database_url}, capture_output=True,
        text=True, timeout=120, check=True,
    ).stdout.splitlines()[-1]  # fmt: skip
    for i in range(3):  # the same conversation, restored from the database each time
        with Agent(ws_url) as agent:
            assert agent.hello(token, "gv-1")["restored_messages"] == 2 * i
            assert agent.draft(f"d{i}", "Please calm down.")["items"]
            assert agent.customer(f"m{i}", "hello?")["duplicate"] is False
            assert agent.sent(f"s{i}", "Sorry for the wait!")["duplicate"] is False
    assert "Using worker: gevent" in log_path.read_text()
