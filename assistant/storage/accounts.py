"""Teams, users and agent tokens.

A token is "ee_<prefix>_<secret>". Only a SHA-256 of the whole token is stored: tokens are 256-bit
random, so a fast hash is safe and lets `hello` look one up with a single indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from .models import ROLES, AgentToken, Team, User, utcnow


@dataclass(frozen=True)
class AgentIdentity:
    """Who a valid token belongs to (plain data, safe to cache and share between threads)."""

    token_id: int
    user_id: int
    user_name: str
    team_id: int
    team_name: str
    wait_seconds: float


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_or_create_team(session: Session, name: str, wait_seconds: float = 60.0) -> Team:
    """The team called name; a new one gets wait_seconds as its customer-waiting threshold."""
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        team = Team(name=name, wait_seconds=wait_seconds)
        session.add(team)
        session.flush()
    return team


def create_agent(
    session: Session, name: str, team_name: str = "default", wait_seconds: float = 60.0
) -> User:
    team = get_or_create_team(session, team_name, wait_seconds)
    agent = User(name=name, role="agent", team_id=team.id)
    session.add(agent)
    session.flush()
    return agent


def mint_token(session: Session, user: User) -> str:
    """Create a token for user and return it; it cannot be recovered later."""
    prefix = secrets.token_hex(4)
    token = f"ee_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(AgentToken(user_id=user.id, prefix=prefix, token_hash=hash_token(token)))
    session.flush()
    return token


def identify(session: Session, token: str) -> AgentIdentity | None:
    """The agent a token belongs to, or None when it is unknown or revoked."""
    # One round trip (every websocket hello and the token sweep come here).
    row = session.execute(
        select(AgentToken.id, AgentToken.user_id, User.name, Team.id, Team.name, Team.wait_seconds)
        .join(User, AgentToken.user_id == User.id)
        .join(Team, User.team_id == Team.id)
        .where(AgentToken.token_hash == hash_token(token), AgentToken.revoked_at.is_(None))
    ).first()
    return AgentIdentity(*row) if row is not None else None


def revoke_tokens(session: Session, *, token: str | None = None, agent: str | None = None) -> int:
    """Revoke one token (given whole or by its prefix) or every token of an agent."""
    query = select(AgentToken).where(AgentToken.revoked_at.is_(None))
    if token:
        prefix = token.split("_")[1] if token.startswith("ee_") else token
        query = query.where(AgentToken.prefix == prefix)
    elif agent:
        query = query.join(User).where(User.name == agent)
    else:
        raise ValueError("give a token or an agent name")
    rows = list(session.scalars(query))
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


def create_user(
    session: Session, email: str, role: str, password: str, team_name: str | None = None
) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise ValueError(f"a user with e-mail {email} already exists")
    team = get_or_create_team(session, team_name) if team_name else None
    user = User(
        name=email.split("@")[0],
        email=email,
        role=role,
        team_id=team.id if team else None,
        password_hash=generate_password_hash(password),
    )
    session.add(user)
    session.flush()
    return user
