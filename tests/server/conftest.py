"""Server test fixtures: an in-process server on each database, with the fixed test lexicon."""

from __future__ import annotations

from pathlib import Path

import pytest

TEST_LEXICONS = Path(__file__).parent / "lexicons"


@pytest.fixture
def settings() -> dict:
    """Override in a test module to start the server with other settings."""
    return {}


@pytest.fixture
def server(start_server, database_url, settings):
    return start_server(
        database_url,
        EMPATHY_LEXICON_DIR=str(TEST_LEXICONS),
        EMPATHY_LEXICON_POLL=0.2,
        **settings,
    )


@pytest.fixture
def token(server) -> str:
    return server.new_token("alice", "support")
