"""Two server processes sharing one PostgreSQL database: a rule saved through one server's page
is live for an agent connected to the other within 2 s, and a session from one is valid on the
other (the signing key is shared through the database)."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.client import Agent

from .conftest import PASSWORD, PEOPLE, TEST_LEXICONS, csrf_from, make_people

REPO = Path(__file__).resolve().parents[2]
DRAFT = "That is not my department, sorry."
LIVE_WITHIN = 2.0


class Server:
    def __init__(self, database_url: str, log: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "EMPATHY_DEMO": "0",
            "EMPATHY_SECURE_COOKIES": "0",
            "EMPATHY_LEXICON_DIR": str(TEST_LEXICONS),
        }
        self.process = subprocess.Popen(
            [sys.executable, "server.py", "--host", "127.0.0.1", "--port", "0"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=open(log, "w"),  # noqa: SIM115 (lives as long as the process)
            text=True,
        )
        line = self.process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"server did not start: {line!r}; see {log}")
        self.url = match.group(1)
        self.ws_url = self.url.replace("http://", "ws://") + "ws"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def servers(database_url: str, tmp_path: Path) -> Iterator[tuple[Server, Server, str]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("two servers share a PostgreSQL database (the SQLite case is one machine)")
    from assistant import create_app
    from assistant.storage import accounts

    app = create_app({"DATABASE_URL": database_url, "EMPATHY_LEXICON_DIR": str(TEST_LEXICONS)})
    runtime = app.extensions["empathy"]
    make_people(runtime)
    with runtime.sessions.begin() as session:
        agent = accounts.create_agent(session, "bob", "support")
        token = accounts.mint_token(session, agent)
    runtime.stop()
    one = Server(database_url, tmp_path / "one.log")
    try:
        two = Server(database_url, tmp_path / "two.log")
    except Exception:
        one.stop()
        raise
    yield one, two, token
    one.stop()
    two.stop()


def opener() -> tuple[Any, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def post(browser: Any, url: str, data: dict[str, str]) -> Any:
    return browser.open(url, urllib.parse.urlencode(data).encode(), timeout=30)


def test_an_edit_on_one_server_is_live_on_the_other(servers: tuple[Server, Server, str]) -> None:
    one, two, agent_token = servers
    agent = Agent(two.ws_url)
    agent.hello(agent_token)
    assert not agent.draft("d0", DRAFT)["items"]

    browser, _ = opener()
    token = csrf_from(browser.open(one.url + "login", timeout=30).read().decode())
    post(browser, one.url + "login", {"email": PEOPLE["admin"][0], "password": PASSWORD,
                                      "csrf_token": token})  # fmt: skip
    token = csrf_from(browser.open(one.url + "lexicon/rules/new", timeout=30).read().decode())
    saved = post(
        browser,
        one.url + "lexicon/rules/new",
        {
            "csrf_token": token,
            "rule_id": "not-my-department",
            "team": "",
            "role": "agent",
            "category": "ownership",
            "question": "3",
            "severity": "warning",
            "scope": "anywhere",
            "patterns": "not my (department|job)",
            "message": "Ownership is empathy.",
            "suggestions": "Let me find the right person and stay with you until it's fixed.",
            "flags": DRAFT,
            "passes": "My department handles this.",
            "enabled": "y",
        },
    )
    assert saved.url.endswith("/lexicon/rules/not-my-department")
    saved_at = time.monotonic()
    n = 0
    while not any(i["rule"] == "not-my-department" for i in agent.draft(f"d{n}", DRAFT)["items"]):
        n += 1
        assert time.monotonic() - saved_at < LIVE_WITHIN, "not live on the other server in 2 s"
        time.sleep(0.05)
    agent.close()

    # The session made on one server is valid on the other.
    page = browser.open(two.url + "lexicon/rules/not-my-department", timeout=30)
    assert page.url.endswith("/lexicon/rules/not-my-department")
    assert "Ownership is empathy." in page.read().decode()
