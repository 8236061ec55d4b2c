""" "Try it": an unsaved rule compiled on its own and run over typed sentences, its own
examples and the recent stored messages it would have seen."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.engine import Engine, LexiconError, rules_from_dicts
from assistant.storage.models import Conversation, Message, Team

RECENT_MESSAGES = 500
# Which stored messages a rule of each kind reads.
AUTHOR_OF_ROLE = {"agent": "agent", "customer": "customer", "empowerment": "customer"}


def try_rule(
    session: Session, data: dict[str, Any], sentences: list[str], own_team: str | None = None
) -> dict[str, Any]:
    """Problems, matches in the sentences and examples, and flagged recent messages (of the
    rule's team; else of `own_team` for a non-admin; else of every team)."""
    try:
        rule = rules_from_dicts([data], source="editor")[0]
        engine = Engine([rule])
    except LexiconError as error:
        return {"ok": False, "problems": error.problems}

    def spans(text: str) -> list[str]:
        return [matched for key, _, _, matched in engine.spans(text[:2000]) if key == rule.key]

    examples = [
        {"text": t, "expected": expected, "flagged": bool(spans(t))}
        for expected, texts in (("flag", rule.flags), ("pass", rule.passes))
        for t in texts
    ]
    problems = [
        f"editor: rule {rule.id!r}: should {e['expected']} {e['text']!r}"
        for e in examples
        if e["flagged"] != (e["expected"] == "flag")
    ]
    return {
        "ok": not problems,
        "problems": problems,
        "sentences": [{"text": t, "matches": spans(t)} for t in sentences],
        "examples": examples,
        "recent": _recent(session, rule.role, rule.team or own_team, spans),
    }


def _recent(session: Session, role: str, team: str | None, spans) -> dict[str, Any]:
    author = AUTHOR_OF_ROLE.get(role)
    if author is None:
        return {"checked": 0, "flagged": 0, "samples": []}
    query = select(Message.text).where(Message.author == author)
    if team:
        query = query.join(Conversation).join(Team).where(Team.name == team)
    texts = list(session.scalars(query.order_by(Message.id.desc()).limit(RECENT_MESSAGES)))
    flagged = [t for t in texts if spans(t)]
    return {"checked": len(texts), "flagged": len(flagged), "samples": flagged[:3]}
