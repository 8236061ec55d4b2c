"""Trainers' fixtures: the editor's app and people (tests/editor/conftest.py), plus a small set
of conversations stored through the models, each flagged in a known way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.editor.conftest import (  # noqa: F401  (fixtures re-exported for this folder)
    PASSWORD,
    PEOPLE,
    Browser,
    browser_for,
    csrf_from,
    editor_app,
)

XSS_TEXT = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2;alert(1)">'


def _at(day: int, seconds: float = 0) -> datetime:
    return datetime(2026, 1, day, 9, 0, tzinfo=UTC) + timedelta(seconds=seconds)


def seed_conversations(runtime: Any) -> dict[str, int]:
    """Conversations by label -> id:

    applied     support, agent@example.test, nudge as-per-policy Q3 warning, applied; "zebra"
    sent-anyway support, sam, nudge sorry-for-the-inconvenience Q2 suggestion, sent as is
    mixed       support, sam, nudge (Q1 info) dismissed + a draft nudge rewritten (Q4)
    imported    billing, bo (import), finding as-per-policy Q3 warning on the agent's reply
    quiet       support, sam, no nudge and no finding on an agent message (never listed)
    xss         support, agent@example.test, hostile text, a finding on the agent's reply
    """
    from sqlalchemy import select

    from assistant.storage import accounts
    from assistant.storage.models import (
        Conversation,
        Feedback,
        Message,
        MessageFinding,
        Nudge,
        User,
    )

    ids: dict[str, int] = {}
    with runtime.sessions.begin() as session:
        me = session.scalar(select(User).where(User.email == PEOPLE["agent"][0]))
        sam = accounts.create_agent(session, "sam", "support")
        bo = accounts.create_agent(session, "bo", "billing")
        teams = {"support": sam.team_id, "billing": bo.team_id}

        def conversation(label: str, team: str, agent: Any, day: int, **extra: Any) -> int:
            row = Conversation(
                team_id=teams[team],
                external_id=f"chat-{label}",
                agent_id=agent.id if agent else None,
                created_at=_at(day),
                **extra,
            )
            session.add(row)
            session.flush()
            ids[label] = row.id
            return row.id

        def message(cid: int, n: int, author: str, text: str, day: int, seconds: float) -> int:
            row = Message(
                conversation_id=cid,
                client_id=f"m{n}",
                author=author,
                text=text,
                sent_at=_at(day, seconds),
            )
            session.add(row)
            session.flush()
            return row.id

        def nudge(cid: int, mid: int | None, rule: str, q: int, sev: str, **extra: Any) -> int:
            row = Nudge(
                public_id=f"n-{cid}-{rule}-{mid}",
                conversation_id=cid,
                trigger=extra.pop("trigger", "draft"),
                rule=rule,
                category="test",
                question=q,
                severity=sev,
                message_id=mid,
                **extra,
            )
            session.add(row)
            session.flush()
            return row.id

        def finding(mid: int, rule: str, q: int, sev: str, start: int, end: int, text: str):
            session.add(
                MessageFinding(
                    message_id=mid,
                    rule=rule,
                    category="test",
                    question=q,
                    severity=sev,
                    start=start,
                    end=end,
                    text=text,
                )
            )

        cid = conversation("applied", "support", me, 10)
        message(cid, 1, "customer", "My parcel never came, a zebra could walk faster.", 10, 0)
        reply = message(cid, 2, "agent", "I'm so sorry, I'm sending a new one today.", 10, 2)
        message(cid, 3, "customer", "Thanks.", 10, 3)
        message(cid, 4, "agent", "You're welcome!", 10, 4)
        n = nudge(
            cid,
            reply,
            "as-per-policy",
            3,
            "warning",
            text="As per our policy",
            survived=False,
            shown_at=_at(10, 1),
        )
        session.add(Feedback(nudge_id=n, action="applied"))

        cid = conversation("sent-anyway", "support", sam, 11)
        message(cid, 1, "customer", "Where is my refund?", 11, 0)
        reply = message(cid, 2, "agent", "Sorry for the inconvenience.", 11, 3)
        nudge(
            cid,
            reply,
            "sorry-for-the-inconvenience",
            2,
            "suggestion",
            text="Sorry for the inconvenience",
            survived=True,
            shown_at=_at(11, 2),
        )
        finding(
            reply,
            "sorry-for-the-inconvenience",
            2,
            "suggestion",
            0,
            27,
            "Sorry for the inconvenience",
        )

        cid = conversation("mixed", "support", sam, 12)
        message(cid, 1, "customer", "Hello?", 12, 0)
        n = nudge(cid, None, "customer-waiting", 1, "info", trigger="waiting", shown_at=_at(12, 1))
        session.add(Feedback(nudge_id=n, action="dismissed"))
        reply = message(cid, 2, "agent", "Hi! Let me look.", 12, 2)
        nudge(
            cid,
            reply,
            "cold-no",
            4,
            "suggestion",
            text="No.",
            survived=False,
            shown_at=_at(12, 1.5),
        )

        cid = conversation("imported", "billing", bo, 13, source="import")
        message(cid, 1, "customer", "I was charged twice.", 13, 0)
        reply = message(cid, 2, "agent", "As per our policy we cannot refund.", 13, 2)
        finding(reply, "as-per-policy", 3, "warning", 0, 17, "As per our policy")

        cid = conversation("quiet", "support", sam, 14)
        mid = message(cid, 1, "customer", "As per your policy, fine.", 14, 0)
        finding(mid, "as-per-policy", 3, "warning", 0, 18, "As per your policy")
        message(cid, 2, "agent", "Glad to help.", 14, 1)

        cid = conversation("xss", "support", me, 15)
        message(cid, 1, "customer", XSS_TEXT, 15, 0)
        reply = message(cid, 2, "agent", "As per our policy " + XSS_TEXT, 15, 1)
        finding(reply, "as-per-policy", 3, "warning", 0, 17, "As per our policy")
    return ids


@pytest.fixture
def seeded(editor_app: Any) -> dict[str, int]:  # noqa: F811
    return seed_conversations(editor_app.extensions["empathy"])
