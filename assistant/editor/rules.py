"""Editing the stored rules: validate, save with a revision, revert, import, export.

Every change goes through `save`/`delete`, which validate the rule with the engine (format,
compilation and its own examples) before anything is written, record who changed what, and
bump the lexicon version so every server process rebuilds its engine within a second or two.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.engine import Engine, LexiconError, dump_rules, parse_lexicon_text, rules_from_dicts
from assistant.engine.examples import example_failures
from assistant.storage.lexicon_store import bump_version, rule_key
from assistant.storage.models import LexiconRevision, LexiconRule, Team, TeamRuleSwitch, utcnow


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in user, or the command line."""

    label: str
    user_id: int | None = None


CLI = Actor("cli")


def check(data: dict[str, Any], source: str = "editor") -> list[str]:
    """Every problem with one rule: the lexicon format, compilation, its own examples."""
    try:
        rules = rules_from_dicts([data], source=source)
        engine = Engine(rules)
    except LexiconError as error:
        return error.problems
    return example_failures(engine)


def normalised(data: dict[str, Any]) -> dict[str, Any]:
    """The canonical stored form of a valid rule (what lexicon files and exports hold)."""
    return rules_from_dicts([data])[0].to_dict()


def get(session: Session, key: str) -> LexiconRule | None:
    return session.scalar(select(LexiconRule).where(LexiconRule.rule_id == key))


def all_rules(session: Session) -> list[dict[str, Any]]:
    return [row.data for row in session.scalars(select(LexiconRule).order_by(LexiconRule.id))]


def save(session: Session, data: dict[str, Any], actor: Actor, old_key: str | None = None) -> str:
    """Add or replace a rule (renaming it when its key changed); returns its key.
    Raises LexiconError when the rule is invalid: nothing is written then."""
    problems = check(data)
    if problems:
        raise LexiconError(problems)
    data = normalised(data)
    key = rule_key(data)
    row = get(session, old_key or key)
    if old_key and key != old_key and get(session, key) is not None:
        raise LexiconError([f"editor: rule {data['id']!r}: a rule with this id already exists"])
    if row is None and old_key is None and get(session, key) is not None:
        raise LexiconError([f"editor: rule {data['id']!r}: a rule with this id already exists"])
    if old_key and row is None:
        raise LexiconError([f"editor: rule {old_key!r} no longer exists"])
    before = row.data if row else None
    if before == data:
        return key
    if row is None:
        session.add(LexiconRule(rule_id=key, data=data))
    else:
        row.rule_id, row.data, row.updated_at = key, data, utcnow()
    action = "add" if before is None else _edit_action(before, data)
    _record(session, key, action, before, data, actor)
    bump_version(session)
    return key


def set_enabled(session: Session, key: str, enabled: bool, actor: Actor) -> None:
    row = _existing(session, key)
    data = {k: v for k, v in row.data.items() if k != "enabled"}
    if not enabled:
        data["enabled"] = False
    save(session, data, actor, old_key=key)


def delete(session: Session, key: str, actor: Actor) -> None:
    row = _existing(session, key)
    _record(session, key, "delete", row.data, None, actor)
    session.delete(row)
    bump_version(session)


def revert(session: Session, revision_id: int, actor: Actor) -> str:
    """Put the rule back as it was before this revision (absent: delete it)."""
    revision = session.get(LexiconRevision, revision_id)
    if revision is None:
        raise LookupError(f"no revision {revision_id}")
    if revision.action in ("team-off", "team-on"):
        team = (revision.after or revision.before)["off_for_team"]
        off = revision.action == "team-on"  # undo: switch it back off
        switch_off(session, team, revision.rule_key, off, actor)
        return revision.rule_key
    current = get(session, revision.rule_key)
    if revision.before is None:
        if current is not None:
            _record(session, revision.rule_key, "revert", current.data, None, actor)
            session.delete(current)
            bump_version(session)
        return revision.rule_key
    if current is None:
        _existing_key_free(session, revision.before)
        session.add(LexiconRule(rule_id=revision.rule_key, data=revision.before))
        _record(session, revision.rule_key, "revert", None, revision.before, actor)
        bump_version(session)
        return revision.rule_key
    before = current.data
    current.data, current.updated_at = revision.before, utcnow()
    _record(session, revision.rule_key, "revert", before, revision.before, actor)
    bump_version(session)
    return revision.rule_key


def import_text(
    session: Session, text: str, source: str, actor: Actor, team: str | None = None
) -> tuple[int, int]:
    """Add or replace the rules of one lexicon file (YAML, lexicons/ format); nothing is
    written unless every rule is valid. `team` (a lead's import) must match every rule's team.
    Returns (added, changed)."""
    rules = parse_lexicon_text(text, source)
    if team is not None:
        foreign = [r.id for r in rules if r.team != team]
        if foreign:
            raise LexiconError(
                [f"{source}: rule {i!r}: you can only import rules of team {team}" for i in foreign]
            )
    problems = [p for rule in rules for p in check(rule.to_dict(), source)]
    if problems:
        raise LexiconError(problems)
    added = changed = 0
    for rule in rules:
        data, key = rule.to_dict(), rule.key
        row = get(session, key)
        if row is None:
            session.add(LexiconRule(rule_id=key, data=data))
            _record(session, key, "import", None, data, actor)
            added += 1
        elif row.data != data:
            _record(session, key, "import", row.data, data, actor)
            row.data, row.updated_at = data, utcnow()
            changed += 1
    if added or changed:
        bump_version(session)
    return added, changed


def export_text(session: Session, team: str | None = None, everything: bool = True) -> str:
    """The stored rules as a lexicon file: all of them, or one team's own (team=...)."""
    data = all_rules(session)
    if not everything:
        data = [d for d in data if d.get("team") == team]
    return dump_rules(rules_from_dicts(data, source="database"))


def dump_data(data: list[dict[str, Any]]) -> str:
    return dump_rules(rules_from_dicts(data, source="database"))


def switch_off(session: Session, team_name: str, rule_id: str, off: bool, actor: Actor) -> None:
    """Switch a global rule off (or back on) for one team's agents."""
    team = session.scalar(select(Team).where(Team.name == team_name))
    if team is None:
        raise LookupError(f"no team {team_name}")
    row = session.scalar(
        select(TeamRuleSwitch).where(
            TeamRuleSwitch.team_id == team.id, TeamRuleSwitch.rule_id == rule_id
        )
    )
    if off and row is None:
        session.add(TeamRuleSwitch(team_id=team.id, rule_id=rule_id))
    elif not off and row is not None:
        session.delete(row)
    else:
        return
    state = {"off_for_team": team_name}
    before, after = (None, state) if off else (state, None)
    _record(session, rule_id, "team-off" if off else "team-on", before, after, actor)
    bump_version(session)


def switched_off(session: Session, team_name: str | None) -> set[str]:
    if not team_name:
        return set()
    rows = session.scalars(
        select(TeamRuleSwitch.rule_id).join(TeamRuleSwitch.team).where(Team.name == team_name)
    )
    return set(rows)


def diff(revision: LexiconRevision) -> str:
    """A unified diff of the rule's YAML before and after the revision."""
    before = _yaml(revision.before).splitlines(keepends=True)
    after = _yaml(revision.after).splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, "before", "after", n=2))


def new_id(text: str) -> str:
    """A rule id from a phrase: 'As per our policy' -> 'as-per-our-policy'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug or "rule")[:60].rstrip("-")


# --- helpers ------------------------------------------------------------------------------


def _existing(session: Session, key: str) -> LexiconRule:
    row = get(session, key)
    if row is None:
        raise LookupError(f"no rule {key}")
    return row


def _existing_key_free(session: Session, data: dict[str, Any]) -> None:
    if get(session, rule_key(data)) is not None:
        raise LexiconError([f"editor: rule {data['id']!r}: a rule with this id already exists"])


def _edit_action(before: dict[str, Any], after: dict[str, Any]) -> str:
    strip = {k: v for k, v in before.items() if k != "enabled"}
    if strip == {k: v for k, v in after.items() if k != "enabled"}:
        return "enable" if after.get("enabled", True) else "disable"
    return "edit"


def _record(
    session: Session,
    key: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    actor: Actor,
) -> None:
    session.add(
        LexiconRevision(
            rule_key=key,
            action=action,
            before=before,
            after=after,
            user_id=actor.user_id,
            actor=actor.label,
        )
    )
    session.flush()


def _yaml(data: dict[str, Any] | None) -> str:
    if data is None:
        return ""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
