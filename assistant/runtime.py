"""What one server process shares between its connections: the database, the storage writer,
the current lexicon engine, and the demo agent's token."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from .live.lexicons import Lexicons
from .live.peer_examples import stop_for as stop_peer_examples
from .storage import accounts, lexicon_store
from .storage.accounts import AgentIdentity
from .storage.db import default_database_url, make_engine, make_session_factory, migrate
from .storage.models import AgentToken, Team, User
from .storage.writer import Writer

log = logging.getLogger(__name__)

DEMO_TEAM = "demo"
DEMO_AGENT = "demo-agent"
# How long a token checked against the database may still be trusted while the database is down.
IDENTITY_GRACE_SECONDS = 300
# Demo tokens older than this are revoked when a process mints a new one; a process re-mints its
# own after half of it, so an open demo keeps working.
DEMO_TOKEN_HOURS = 24


@dataclass
class Runtime:
    settings: dict[str, Any]
    database_url: str
    db: SqlEngine
    sessions: sessionmaker[Session]
    writer: Writer
    lexicons: Lexicons
    demo_token: str | None = None
    demo_token_minted: float = 0.0  # time.monotonic()
    _identities: dict[str, tuple[AgentIdentity, float]] = field(default_factory=dict)
    _start_lock: threading.Lock = field(default_factory=threading.Lock)
    _started: bool = False

    @classmethod
    def from_app(cls, app: Flask) -> Runtime:
        url = app.config["DATABASE_URL"] or default_database_url(app.instance_path)
        db = make_engine(url)
        sessions = make_session_factory(db)
        lexicons = Lexicons(
            sessions, app.config["EMPATHY_LEXICON_DIR"], app.config["EMPATHY_LEXICON_POLL"]
        )
        writer = Writer(sessions, max_queue=app.config["EMPATHY_WRITE_QUEUE"])
        return cls(dict(app.config), url, db, sessions, writer, lexicons)

    def init_database(self) -> None:
        initialise_database(self.db, self.settings["EMPATHY_LEXICON_DIR"])

    def start(self) -> None:
        """Build the engine and start the background threads (idempotent)."""
        if self._started:  # every new websocket calls this: no lock once started
            return
        with self._start_lock:
            self.lexicons.ensure_started()
            self.writer.start()
            if not self.settings["EMPATHY_DEMO"]:
                self.revoke_demo_tokens()  # serving without the demo: its tokens stop working
            self._started = True

    def stop(self) -> None:
        self.lexicons.stop()
        stop_peer_examples(self.sessions)
        self.writer.stop()
        self.db.dispose()

    def enable_demo(self) -> str:
        """Mint a fresh token for the demo agent and revoke those past DEMO_TOKEN_HOURS. Newer
        ones stay: under gunicorn each worker mints its own, and all of them must keep working."""
        with self.sessions.begin() as session:
            agent = session.scalar(
                select(User).join(Team).where(User.name == DEMO_AGENT, Team.name == DEMO_TEAM)
            )
            if agent is None:
                wait = self.settings["EMPATHY_WAIT_SECONDS"]
                agent = accounts.create_agent(session, DEMO_AGENT, DEMO_TEAM, wait)
            expired = datetime.now(UTC) - timedelta(hours=DEMO_TOKEN_HOURS)
            self._revoke_demo_tokens(session, created_before=expired)
            self.demo_token = accounts.mint_token(session, agent)
        self.demo_token_minted = time.monotonic()
        return self.demo_token

    def current_demo_token(self) -> str:
        """The demo token, re-minted once it is half way to expiry."""
        if time.monotonic() - self.demo_token_minted > DEMO_TOKEN_HOURS * 3600 / 2:
            return self.enable_demo()
        return self.demo_token

    def revoke_demo_tokens(self) -> None:
        with self.sessions.begin() as session:
            if count := self._revoke_demo_tokens(session):
                log.info("demo is off: revoked %s demo token(s)", count)

    def _revoke_demo_tokens(self, session: Session, created_before: datetime | None = None) -> int:
        query = (
            select(AgentToken)
            .join(User)
            .join(Team)
            .where(User.name == DEMO_AGENT, Team.name == DEMO_TEAM, AgentToken.revoked_at.is_(None))
        )
        if created_before is not None:
            query = query.where(AgentToken.created_at < created_before)
        rows = list(session.scalars(query))
        for row in rows:
            row.revoked_at = datetime.now(UTC)
        return len(rows)

    def identify(self, token: str) -> AgentIdentity | None:
        """The agent behind a token; if the database is down, a recently verified answer."""
        key = accounts.hash_token(token)
        try:
            with self.sessions() as session:
                identity = accounts.identify(session, token)
        except (DBAPIError, PoolTimeoutError):  # down, or every pooled connection busy
            cached = self._identities.get(key)
            if cached and time.monotonic() - cached[1] < IDENTITY_GRACE_SECONDS:
                log.warning("database unavailable; accepting recently verified token")
                return cached[0]
            raise
        if identity is None:
            self._identities.pop(key, None)
        else:
            self._identities[key] = (identity, time.monotonic())
        return identity


def initialise_database(db: SqlEngine, lexicon_dir: str) -> None:
    """Create or upgrade the schema and seed the lexicons if the database has none."""
    migrate(db)
    with make_session_factory(db).begin() as session:
        if lexicon_store.seed_if_empty(session, lexicon_dir):
            log.info("seeded lexicons from %s", lexicon_dir)
