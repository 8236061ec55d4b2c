"""Times as stored: always UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """The moment as an aware UTC datetime. A naive one is UTC already: SQLite hands back what
    was stored without its zone, and a time given without an offset is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
