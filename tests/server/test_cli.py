"""`flask --app server ...` commands, run as a user would (subprocess) where output matters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from assistant import create_app
from assistant.storage import accounts
from assistant.storage.models import AgentToken, Team, User

REPO = Path(__file__).resolve().parents[2]


def flask(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "EMPATHY_DEMO": "0"}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "server", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=check,
    )  # fmt: skip


@pytest.fixture
def app(database_url):
    app = create_app({"DATABASE_URL": database_url})
    yield app
    app.extensions["empathy"].stop()


def test_init_db_agents_create_and_tokens_revoke(database_url, app):
    assert "Database ready" in flask(database_url, "init-db").stdout
    out = flask(database_url, "agents", "create", "Sam", "--team", "billing").stdout
    token = out.strip().splitlines()[-1]
    assert token.startswith("ee_") and " " not in token
    runtime = app.extensions["empathy"]
    with runtime.sessions() as session:
        identity = accounts.identify(session, token)
    assert identity.user_name == "Sam" and identity.team_name == "billing"

    prefix = token.split("_")[1]
    assert "Revoked 1" in flask(database_url, "tokens", "revoke", prefix).stdout
    with runtime.sessions() as session:
        assert accounts.identify(session, token) is None
    again = flask(database_url, "tokens", "revoke", token, check=False)
    assert again.returncode != 0 and "no matching active token" in again.stderr


def test_revoke_all_tokens_of_an_agent(database_url, app):
    runtime = app.extensions["empathy"]
    with runtime.sessions.begin() as session:
        agent = accounts.create_agent(session, "Kim")
        tokens = [accounts.mint_token(session, agent) for _ in range(2)]
    assert "Revoked 2" in flask(database_url, "tokens", "revoke", "--agent", "Kim").stdout
    with runtime.sessions() as session:
        assert all(accounts.identify(session, t) is None for t in tokens)
        assert all(row.revoked_at for row in session.scalars(select(AgentToken)))


def test_users_create_prompts_for_a_password_and_hashes_it(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create", "lead@example.com", "--role", "lead", "--team", "support"],
        input="correct horse battery\ncorrect horse battery\n",
    )
    assert result.exit_code == 0, result.output
    with app.extensions["empathy"].sessions() as session:
        user = session.scalar(select(User).where(User.email == "lead@example.com"))
        assert user.role == "lead" and user.team.name == "support"
        assert user.password_hash != "correct horse battery"
        assert check_password_hash(user.password_hash, "correct horse battery")


def test_users_create_refuses_bad_input(app):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["users", "create", "a@example.com", "--role", "admin"],
                          input="short\nshort\n")  # fmt: skip
    assert short.exit_code != 0 and "at least 8" in short.output
    role = runner.invoke(args=["users", "create", "a@example.com", "--role", "king"])
    assert role.exit_code != 0 and "king" in role.output


def test_no_account_has_a_password_out_of_the_box(database_url):
    app = create_app({"DATABASE_URL": database_url, "EMPATHY_DEMO": True})
    try:
        with app.extensions["empathy"].sessions() as session:
            users = list(session.scalars(select(User)))
        assert users and all(user.password_hash is None for user in users)  # demo agent only
    finally:
        app.extensions["empathy"].stop()


def test_teams_set_wait(database_url, app):
    with app.extensions["empathy"].sessions.begin() as session:
        accounts.get_or_create_team(session, "support")
    assert "30s" in flask(database_url, "teams", "set-wait", "support", "30").stdout
    with app.extensions["empathy"].sessions() as session:
        assert session.scalar(select(Team.wait_seconds).where(Team.name == "support")) == 30


def test_lexicons_import_reports_a_broken_directory(database_url, tmp_path):
    (tmp_path / "bad.yml").write_text("rules:\n  - id: Bad Id\n    patterns: [x]\n")
    refused = flask(database_url, "lexicons", "import", str(tmp_path), check=False)
    assert refused.returncode != 0 and "--replace-all" in refused.stderr
    result = flask(database_url, "lexicons", "import", "--replace-all", str(tmp_path), check=False)
    assert result.returncode != 0 and "lexicons not imported" in result.stderr
    assert "Bad Id" in result.stderr
