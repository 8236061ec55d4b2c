"""Per-rule statistics from the stored nudges and feedback: how often each rule was shown,
applied, dismissed and marked not helpful in the last N days."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assistant.storage.models import Conversation, Feedback, Nudge, Team, utcnow

COUNTS = ("shown", "applied", "dismissed", "unhelpful")


def rule_stats(session: Session, days: int, team: str | None = None) -> dict[str, dict[str, int]]:
    """{rule id: {shown, applied, dismissed, unhelpful}} since `days` ago (one team's
    conversations, or every team's with team=None)."""
    since = utcnow() - timedelta(days=days)
    shown = select(Nudge.rule, func.count(Nudge.id)).where(Nudge.shown_at >= since)
    acted = (
        select(Nudge.rule, Feedback.action, func.count(Feedback.id))
        .join(Feedback.nudge)
        .where(Feedback.created_at >= since)
    )
    if team is not None:
        shown = shown.join(Conversation, Conversation.id == Nudge.conversation_id)
        acted = acted.join(Conversation, Conversation.id == Nudge.conversation_id)
        shown = shown.join(Team, Team.id == Conversation.team_id).where(Team.name == team)
        acted = acted.join(Team, Team.id == Conversation.team_id).where(Team.name == team)
    stats: dict[str, dict[str, int]] = {}
    for rule, count in session.execute(shown.group_by(Nudge.rule)):
        stats.setdefault(rule, dict.fromkeys(COUNTS, 0))["shown"] = count
    for rule, action, count in session.execute(acted.group_by(Nudge.rule, Feedback.action)):
        if action in COUNTS:
            stats.setdefault(rule, dict.fromkeys(COUNTS, 0))[action] = count
    return stats


def empty() -> dict[str, int]:
    return dict.fromkeys(COUNTS, 0)
