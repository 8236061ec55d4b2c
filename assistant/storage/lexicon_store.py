"""Lexicon rules in the database: seeded from lexicons/ on first start, versioned so every
server process notices a change by polling one small row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, delete, select
from sqlalchemy.orm import Session

from assistant.engine import load_rules

from .models import LexiconRule, LexiconState, Team, TeamRuleSwitch, utcnow

STATE_ID = 1


def current_version(session: Session) -> int:
    state = session.get(LexiconState, STATE_ID)
    return state.version if state else 0


def rule_dicts(session: Session) -> list[dict[str, Any]]:
    return list(session.scalars(select(LexiconRule.data).order_by(LexiconRule.id)))


def rule_texts(session: Session) -> list[str]:
    """The stored rules as JSON text, undecoded (the live reload caches rules by this text)."""
    column = cast(LexiconRule.data, Text)
    return list(session.scalars(select(column).order_by(LexiconRule.id)))


def rule_key(rule: dict[str, Any]) -> str:
    """Unique per stored rule: a team's own rule may share its id with a global one."""
    return f"{rule['id']}@{rule['team']}" if rule.get("team") else rule["id"]


def disabled_by_team(session: Session) -> dict[str, list[str]]:
    """The global rule ids each team switched off for itself (Engine's `disabled`)."""
    disabled: dict[str, list[str]] = {}
    rows = session.execute(select(Team.name, TeamRuleSwitch.rule_id).join(TeamRuleSwitch.team))
    for team, rule_id in rows:
        disabled.setdefault(team, []).append(rule_id)
    return disabled


def replace_rules(session: Session, rules: list[dict[str, Any]]) -> int:
    """Replace every stored rule and bump the version; returns the new version."""
    session.execute(delete(LexiconRule))
    session.add_all(LexiconRule(rule_id=rule_key(rule), data=rule) for rule in rules)
    return bump_version(session)


def bump_version(session: Session) -> int:
    state = session.get(LexiconState, STATE_ID)
    if state is None:
        state = LexiconState(id=STATE_ID, version=0)
        session.add(state)
    state.version += 1
    state.updated_at = utcnow()
    session.flush()
    return state.version


def import_directory(session: Session, directory: str | Path) -> int:
    """Load lexicons/ (validated by the engine) into the database; returns the new version."""
    rules = load_rules(str(directory))
    return replace_rules(session, [rule.to_dict() for rule in rules])


def seed_if_empty(session: Session, directory: str | Path) -> bool:
    if session.scalar(select(LexiconRule.id).limit(1)) is not None:
        return False
    import_directory(session, directory)
    return True
