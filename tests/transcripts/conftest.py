"""Transcript tests: an app on a real database (SQLite file, and PostgreSQL when reachable)
with the repository's lexicons, and its CLI run in-process as `flask --app server` runs it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from assistant import create_app

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def make_app(database_url: str, **settings: Any):
    return create_app({"DATABASE_URL": database_url, "EMPATHY_DEMO": False, **settings})


@pytest.fixture
def app(database_url: str) -> Iterator[Any]:
    app = make_app(database_url)
    yield app
    app.extensions["empathy"].stop()


@pytest.fixture
def cli(app) -> Callable[..., Result]:
    """cli("transcripts", "import", FILE, ...) -> click Result (exit_code, stdout, stderr)."""
    return cli_for(app)


def cli_for(app) -> Callable[..., Result]:
    runner = app.test_cli_runner()

    def run(*args: str) -> Result:
        return runner.invoke(args=[str(a) for a in args])

    return run
