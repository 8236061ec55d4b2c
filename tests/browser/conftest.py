"""Fixtures for the extension's browser tests: Debian's Chromium with the real extension loaded,
the editor test pages on a loopback HTTP server, and the real server (tests/conftest.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import CHROMIUM, HERE, PageServer, configure, launch, service_worker


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = ""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium"
    elif not (HERE / "dist").is_dir():
        reason = "editor test pages are not built: bash tests/browser/setup.sh"
    if reason:
        for item in items:
            if Path(str(item.fspath)).is_relative_to(HERE):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def pages() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


@pytest.fixture(scope="session")
def browser(playwright_instance: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One Chromium for the session (launching costs seconds); each test sets its own settings."""
    context = launch(playwright_instance, tmp_path_factory.mktemp("chromium-profile"))
    service_worker(context)
    yield context
    context.close()


@pytest.fixture
def settings_for(pages: PageServer) -> Any:
    """Extension settings pointing at a server, with the /on/ test pages enabled."""

    def make(server_url: str, token: str, **extra: Any) -> dict[str, Any]:
        enabled = f"{pages.origin}/on/*"
        return {
            "serverUrl": server_url,
            "token": token,
            "demoEnabled": False,
            "sites": [enabled],
            "rules": [
                {
                    "pattern": enabled,
                    "composer": "",
                    "customer": ".msg.customer .text",
                    "customerName": "",
                }
            ],
            **extra,
        }

    return make


@pytest.fixture
def extension(browser: Any, empathy_server: Any, settings_for: Any) -> Iterator[Any]:
    """The browser with the extension configured for the session's server; pages closed after."""
    configure(browser, settings_for(empathy_server.url, empathy_server.token))
    yield browser
    for page in browser.pages:
        page.close()


def sqlite_path(database_url: str) -> str:
    assert database_url.startswith("sqlite:///"), database_url
    return database_url.removeprefix("sqlite:///")


def stored_messages(database_url: str, conversation_like: str = "%") -> list[tuple[str, str, str]]:
    """(client_id, author, text) of stored messages, read straight from the server's database."""
    with sqlite3.connect(sqlite_path(database_url)) as db:
        return db.execute(
            "SELECT m.client_id, m.author, m.text FROM messages m "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.external_id LIKE ? ORDER BY m.id",
            (conversation_like,),
        ).fetchall()


def conversations(database_url: str) -> list[str]:
    with sqlite3.connect(sqlite_path(database_url)) as db:
        return [row[0] for row in db.execute("SELECT external_id FROM conversations")]
