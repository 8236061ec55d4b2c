"""Sign-in throttling, stored in the database so it holds across workers and instances."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from assistant.storage.models import LoginFailure, utcnow

WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 5  # failed attempts per e-mail in the window
MAX_PER_ADDRESS = 30  # failed attempts per client address in the window


def _keys(email: str, address: str) -> tuple[str, str]:
    return f"email:{email.strip().lower()}", f"addr:{address}"


def blocked(session: Session, email: str, address: str) -> bool:
    account, client = _keys(email, address)
    since = utcnow() - WINDOW

    def failures(key: str) -> int:
        query = select(func.count(LoginFailure.id)).where(
            LoginFailure.key == key, LoginFailure.created_at >= since
        )
        return session.scalar(query) or 0

    return failures(account) >= MAX_PER_ACCOUNT or failures(client) >= MAX_PER_ADDRESS


def record_failure(session: Session, email: str, address: str) -> None:
    session.add_all(LoginFailure(key=key) for key in _keys(email, address))
    # Old rows are useless: drop them as we go so the table stays small.
    session.execute(delete(LoginFailure).where(LoginFailure.created_at < utcnow() - WINDOW))


def clear(session: Session, email: str) -> None:
    account, _ = _keys(email, "")
    session.execute(delete(LoginFailure).where(LoginFailure.key == account))
