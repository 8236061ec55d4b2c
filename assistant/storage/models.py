"""Database schema (SQLAlchemy 2 typed models).

Drafts are never stored. Every text column that can hold something a customer or agent typed
holds it *redacted* (see redact.py); the writer is the only place that inserts them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.dialects import postgresql  # noqa: F401  (typed to_tsvector, before use below)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("agent", "lead", "trainer", "admin")
FEEDBACK_ACTIONS = ("applied", "dismissed", "unhelpful")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    # Named constraints so Alembic migrations are portable (SQLite batch mode needs names).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # How long a customer may wait for an answer before the agent is nudged.
    wait_seconds: Mapped[float] = mapped_column(Float, default=60.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    name: Mapped[str] = mapped_column(String(200))
    # Agents created with `agents create` log in with a token only: no e-mail, no password.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="agent")
    password_hash: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    team: Mapped[Team | None] = relationship()


class AgentToken(Base):
    __tablename__ = "agent_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Public part of the token (shown in listings, used to revoke); the secret is only hashed.
    prefix: Mapped[str] = mapped_column(String(40), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("team_id", "external_id", name="uq_conversation_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    external_id: Mapped[str] = mapped_column(String(200))
    site: Mapped[str | None] = mapped_column(String(200))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    # "live" (the extension) or "import" (a helpdesk export); imported conversations name their
    # agent as the export did, in agent_name, when no account of ours matches.
    source: Mapped[str] = mapped_column(String(20), default="live", server_default="live")
    agent_name: Mapped[str | None] = mapped_column(String(200), index=True)


class Message(Base):
    """A customer message or an agent message that was actually sent (never a draft)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id", name="uq_message_client_id"),
        # The trainers' full-text search (PostgreSQL only; SQLite scans with LIKE). Migration 0004.
        Index(
            "ix_messages_text_search",
            func.to_tsvector(literal_column("'simple'::regconfig"), literal_column("text")),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(100))
    author: Mapped[str] = mapped_column(String(10))  # "customer" | "agent"
    text: Mapped[str] = mapped_column(Text)  # redacted
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    findings: Mapped[list[MessageFinding]] = relationship(
        back_populates="message", order_by="MessageFinding.id"
    )


class MessageFinding(Base):
    """What the engine found in a stored message's own text (offsets into the redacted text)."""

    __tablename__ = "message_findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    rule: Mapped[str] = mapped_column(String(100), index=True)  # the trainers' rule filter
    category: Mapped[str] = mapped_column(String(100))
    question: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(20))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")

    message: Mapped[Message] = relationship(back_populates="findings")


class Nudge(Base):
    """A nudge shown to an agent, and what became of it once the message was sent."""

    __tablename__ = "nudges"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(10))  # "draft" | "waiting"
    rule: Mapped[str] = mapped_column(String(100), index=True)
    category: Mapped[str] = mapped_column(String(100))
    question: Mapped[int] = mapped_column(Integer, index=True)
    severity: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")  # the flagged words, redacted
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when the agent sends the message the nudged draft became.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    survived: Mapped[bool | None] = mapped_column(Boolean)

    feedback: Mapped[list[Feedback]] = relationship(back_populates="nudge")


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    nudge_id: Mapped[int] = mapped_column(ForeignKey("nudges.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # applied | dismissed | unhelpful
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    nudge: Mapped[Nudge] = relationship(back_populates="feedback")


class LexiconRule(Base):
    """One lexicon entry (the YAML-entry dict), seeded from lexicons/ on first start."""

    __tablename__ = "lexicon_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The rule's key: its id, or "id@team" for a team's own rule (which may share a global id).
    rule_id: Mapped[str] = mapped_column(String(200), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LexiconState(Base):
    """A single row whose version every server process polls to know when to rebuild its engine."""

    __tablename__ = "lexicon_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LexiconRevision(Base):
    """One saved change to one rule: who, when, and the rule before and after (None: absent)."""

    __tablename__ = "lexicon_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(20))  # add | edit | delete | import | revert | ...
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(320))  # e-mail, or "cli"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TeamRuleSwitch(Base):
    """A global rule a team switched off for its own agents."""

    __tablename__ = "team_rule_switches"
    __table_args__ = (UniqueConstraint("team_id", "rule_id", name="uq_team_rule_switch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    rule_id: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    team: Mapped[Team] = relationship()


class LoginFailure(Base):
    """A failed sign-in, per e-mail and per address, so throttling holds across processes."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AppSecret(Base):
    """Secrets every process sharing the database must agree on (the session signing key)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class CoachingNote(Base):
    """A trainer's note on one stored message; the message's agent sees it on "my coaching"."""

    __tablename__ = "coaching_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(200))  # kept if the account goes
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PeerExample(Base):
    """A teammate's reply a trainer picked as a good example for a rule or a checklist question.

    Offered in the nudge card ("How a teammate put it") to agents of the same team. `text` is
    the reply as the trainer saved it (usually edited to remove specifics); the source message
    is kept for reference and may be purged (retention) without losing the example."""

    __tablename__ = "peer_examples"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    rule: Mapped[str | None] = mapped_column(String(100))  # a rule id, or None: any rule of...
    question: Mapped[int | None] = mapped_column(Integer)  # ...this checklist question
    text: Mapped[str] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class AuditEvent(Base):
    """An administrative action (accounts, teams, tokens, imports, purges): who, what, when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(320))  # e-mail, or "cli"
    action: Mapped[str] = mapped_column(String(50))  # e.g. user.create, token.revoke
    target: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
