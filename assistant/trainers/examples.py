"""Peer examples for the live server: what a team's agents may be offered in a nudge."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.storage.models import PeerExample


def examples_for_team(session: Session, team_id: int) -> list[PeerExample]:
    """The team's active peer examples, oldest first (a stable order to pick from)."""
    query = (
        select(PeerExample)
        .where(PeerExample.team_id == team_id, PeerExample.active.is_(True))
        .order_by(PeerExample.created_at, PeerExample.id)
    )
    return list(session.scalars(query))
