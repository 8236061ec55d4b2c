"""Demo tokens do not pile up: a server serving without the demo revokes them, and a new demo
token revokes those past their lifetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from assistant.runtime import DEMO_TOKEN_HOURS
from assistant.storage.accounts import hash_token
from assistant.storage.models import AgentToken

from .conftest import TEST_LEXICONS


def test_serving_without_the_demo_revokes_demo_tokens(start_server, tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    with_demo = start_server(url, EMPATHY_LEXICON_DIR=str(TEST_LEXICONS), EMPATHY_DEMO=True)
    demo_token = with_demo.runtime.demo_token
    assert with_demo.runtime.identify(demo_token) is not None
    agent_token = with_demo.new_token("alice")
    start_server(url, EMPATHY_LEXICON_DIR=str(TEST_LEXICONS), EMPATHY_DEMO=False)
    assert with_demo.runtime.identify(demo_token) is None
    assert with_demo.runtime.identify(agent_token) is not None  # other agents keep theirs


def test_a_new_demo_token_revokes_expired_ones(start_server, database_url):
    server = start_server(database_url, EMPATHY_LEXICON_DIR=str(TEST_LEXICONS), EMPATHY_DEMO=True)
    runtime = server.runtime
    old, recent = runtime.demo_token, runtime.enable_demo()
    with runtime.sessions.begin() as session:
        long_ago = datetime.now(UTC) - timedelta(hours=DEMO_TOKEN_HOURS + 1)
        session.execute(
            update(AgentToken)
            .where(AgentToken.token_hash == hash_token(old))
            .values(created_at=long_ago)
        )
    newest = runtime.enable_demo()
    assert runtime.identify(old) is None
    assert runtime.identify(recent) is not None and runtime.identify(newest) is not None
