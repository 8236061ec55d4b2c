"""`flask --app server ...` commands: init-db, agents, users, tokens, teams, lexicons."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from .engine import LexiconError
from .storage import accounts, audit, lexicon_store
from .storage.models import ROLES, Team, User
from .transcripts.cli import transcripts

agents = AppGroup("agents", help="Agent accounts (they log in with tokens).")
users = AppGroup("users", help="People who log in with a password (leads, trainers, admins).")
tokens = AppGroup("tokens", help="Agent tokens.")
teams = AppGroup("teams", help="Team settings.")
lexicons = AppGroup("lexicons", help="The rules stored in the database.")


def _runtime():
    return current_app.extensions["empathy"]


@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the schema; seed the default lexicons into an empty database."""
    _runtime().init_database()
    click.echo(f"Database ready: {_runtime().db.url.render_as_string(hide_password=True)}")


@agents.command("create")
@click.argument("name")
@click.option("--team", default="default", show_default=True)
def create_agent(name: str, team: str) -> None:
    """Create an agent and print its token (alone on the last line)."""
    with _runtime().sessions.begin() as session:
        wait = current_app.config["EMPATHY_WAIT_SECONDS"]
        agent = accounts.create_agent(session, name, team, wait)
        token = accounts.mint_token(session, agent)
        prefix = token.split("_")[1]  # the public part only: the audit log holds no secrets
        audit.record(session, "agent.create", name, details={"team": team, "token": prefix})
    click.echo(f"Agent {name} created in team {team}. Token (shown once):")
    click.echo(token)


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--team", default=None)
@click.password_option()
def create_user(email: str, role: str, team: str | None, password: str) -> None:
    """Create a user; the password is asked for (twice), never given a default."""
    if len(password) < 8:
        raise click.ClickException("use a password of at least 8 characters")
    try:
        with _runtime().sessions.begin() as session:
            accounts.create_user(session, email, role, password, team)
            audit.record(session, "user.create", email, details={"role": role, "team": team})
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"User {email} created with role {role}.")


@users.command("set-password")
@click.argument("email")
@click.password_option()
def set_password(email: str, password: str) -> None:
    """Reset a user's password (asked for twice); recorded in the audit log, never the password."""
    if len(password) < 8:
        raise click.ClickException("use a password of at least 8 characters")
    with _runtime().sessions.begin() as session:
        user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"no user with e-mail {email}")
        user.password_hash = generate_password_hash(password)
        audit.record(session, "user.password-reset", user.email or email)
    click.echo(f"Password of {email} changed.")


@tokens.command("revoke")
@click.argument("token", required=False)
@click.option("--agent", default=None, help="Revoke every token of this agent.")
def revoke(token: str | None, agent: str | None) -> None:
    """Revoke a token (the whole token or its prefix, the part after ee_) or an agent's tokens."""
    if not token and not agent:
        raise click.UsageError("give a TOKEN (or its prefix) or --agent NAME")
    with _runtime().sessions.begin() as session:
        count = accounts.revoke_tokens(session, token=token, agent=agent)
        if count:
            audit.record(session, "token.revoke", _revoked(token, agent), details={"count": count})
    if count == 0:
        raise click.ClickException("no matching active token")
    click.echo(f"Revoked {count} token(s).")


def _revoked(token: str | None, agent: str | None) -> str:
    """What the audit log names: the token's public prefix (never the secret part), or the
    agent whose tokens were revoked."""
    if token:
        prefix = token.split("_")[1] if token.startswith("ee_") else token
        return f"token {prefix[:16]}"
    return f"agent {agent}"


@teams.command("set-wait")
@click.argument("team")
@click.argument("seconds", type=click.FloatRange(min=1))
def set_wait(team: str, seconds: float) -> None:
    """How long a customer may wait before the agent is nudged to check in."""
    with _runtime().sessions.begin() as session:
        row = session.scalar(select(Team).where(Team.name == team))
        if row is None:
            raise click.ClickException(f"no team {team}")
        details = {"from": row.wait_seconds, "to": seconds}
        row.wait_seconds = seconds
        audit.record(session, "team.set-wait", team, details=details)
    click.echo(f"Team {team}: customers wait at most {seconds:g}s before a nudge.")


@lexicons.command("import")
@click.argument("directory", required=False)
@click.option(
    "--replace-all",
    is_flag=True,
    help="Required: every stored rule is replaced, team rules and editor changes included.",
)
def import_lexicons(directory: str | None, replace_all: bool) -> None:
    """Replace ALL stored rules with a lexicon directory (default: lexicons/), without history;
    running servers pick the change up within about a second. To add or update rules with
    history, use `flask --app server rules import FILE`."""
    if not replace_all:
        raise click.UsageError(
            "this replaces every stored rule (team rules, empowerment entries and editor changes "
            "included) without history; pass --replace-all to do it, or use `rules import FILE`"
        )
    directory = directory or current_app.config["EMPATHY_LEXICON_DIR"]
    try:
        with _runtime().sessions.begin() as session:
            version = lexicon_store.import_directory(session, directory)
            details = {"directory": str(directory), "version": version}
            audit.record(session, "lexicon.replace-all", "lexicons", details=details)
    except LexiconError as error:
        raise click.ClickException(f"lexicons not imported:\n{error}") from None
    click.echo(f"Lexicon version {version} stored from {directory}.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(init_db)
    for group in (agents, users, tokens, teams, lexicons):
        app.cli.add_command(group)
    app.cli.add_command(transcripts)
