"""The audit log: one row per administrative action (accounts, teams, tokens, imports, purges).

Call `record` inside the session that makes the change, so the action and its log entry are
committed together (or not at all)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .models import AuditEvent


def record(
    session: Session,
    action: str,
    target: str = "",
    *,
    actor: str = "cli",
    actor_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (the caller commits). `details` must hold no secrets
    (never a password or a token, only a token's public prefix)."""
    event = AuditEvent(
        action=action[:50],
        target=target[:300],
        actor=actor[:320],
        actor_id=actor_id,
        details=details,
    )
    session.add(event)
    return event
