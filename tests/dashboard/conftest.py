"""Dashboard fixtures: the editor's app, people and signed-in browsers (tests/editor/conftest.py),
plus a seeded database whose every number the tests count by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.editor.conftest import PASSWORD, PEOPLE, browser_for, editor_app  # noqa: F401

D1 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
D2 = datetime(2026, 3, 3, tzinfo=UTC)
D3 = datetime(2026, 3, 10, tzinfo=UTC)  # the Monday after
RANGE = {"start": "2026-03-02", "end": "2026-03-10"}
MORE_PEOPLE = {
    "agent2": ("agent2@example.test", "agent", "support"),
    "billing-agent": ("agent@billing.test", "agent", "billing"),
    "free-trainer": ("trainer@nowhere.test", "trainer", None),
}


def at(day: datetime, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return day.replace(hour=hh, minute=mm, second=ss)


def seed(runtime: Any) -> dict[str, int]:
    """Four conversations (see the tests for what they add up to); returns user ids by label."""
    from sqlalchemy import select

    from assistant.storage import accounts
    from assistant.storage.models import (
        Conversation,
        Feedback,
        LexiconRevision,
        Message,
        Nudge,
        Team,
        User,
    )

    with runtime.sessions.begin() as session:
        for email, role, team in MORE_PEOPLE.values():
            accounts.create_user(session, email, role, PASSWORD, team)
        session.flush()
        users = {
            label: session.scalar(select(User.id).where(User.email == email))
            for label, (email, _, _) in {**PEOPLE, **MORE_PEOPLE}.items()
        }
        teams = {t.name: t.id for t in session.scalars(select(Team))}

        def conversation(name: str, team: str, agent: str, started: datetime) -> int:
            row = Conversation(
                team_id=teams[team], external_id=name, agent_id=users[agent], created_at=started
            )
            session.add(row)
            session.flush()
            return row.id

        def messages(conversation_id: int, *timeline: tuple[str, datetime]) -> None:
            for n, (author, when) in enumerate(timeline):
                session.add(
                    Message(
                        conversation_id=conversation_id,
                        client_id=f"m{n}",
                        author=author,
                        text="…",
                        sent_at=when,
                    )
                )

        def nudge(conversation_id: int, rule: str, question: int, when: datetime, *acts: str):
            row = Nudge(
                public_id=f"n{conversation_id}-{rule}-{when.isoformat()}",
                conversation_id=conversation_id,
                trigger="draft",
                rule=rule,
                category="seed",
                question=question,
                severity="suggestion",
                shown_at=when,
            )
            session.add(row)
            session.flush()
            for action in acts:
                session.add(Feedback(nudge_id=row.id, action=action))

        c1 = conversation("c1", "support", "agent", at(D1, 9))
        messages(
            c1,
            ("customer", at(D1, 9)),
            ("customer", at(D1, 9, 0, 10)),
            ("agent", at(D1, 9, 0, 40)),  # waited 40 s (from the first unanswered message)
            ("customer", at(D1, 9, 1)),
            ("agent", at(D1, 9, 3)),  # waited 120 s
            ("customer", at(D1, 9, 5)),  # never answered
        )
        nudge(c1, "r-calm", 2, at(D1, 9, 0, 20), "applied")
        nudge(c1, "r-calm", 2, at(D1, 9, 0, 30), "dismissed", "applied", "applied")
        nudge(c1, "r-sorry", 4, at(D1, 9, 2), "unhelpful")

        c2 = conversation("c2", "support", "agent2", at(D2, 10))
        messages(c2, ("customer", at(D2, 10)), ("agent", at(D2, 10, 0, 5)))  # waited 5 s
        nudge(c2, "r-calm", 2, at(D2, 10, 0, 2))

        c3 = conversation("c3", "billing", "billing-agent", at(D1, 11))
        messages(c3, ("customer", at(D1, 11)), ("agent", at(D1, 11, 11, 40)))  # 700 s
        nudge(c3, "r-calm", 2, at(D1, 11, 5), "applied")
        nudge(c3, "r-calm", 2, at(D1, 11, 6), "applied")

        c4 = conversation("c4", "support", "agent", at(D3, 8))
        nudge(c4, "r-sorry", 4, at(D3, 8, 1))

        session.add(
            LexiconRevision(
                rule_key="r-calm", action="edit", actor="lead@example.test", created_at=at(D2, 8)
            )
        )
        session.add(
            LexiconRevision(
                rule_key="billing-own@billing",
                action="add",
                actor="lead@other.test",
                created_at=at(D2, 9),
            )
        )
    return users


@pytest.fixture
def seeded(editor_app: Any) -> dict[str, int]:  # noqa: F811
    return seed(editor_app.extensions["empathy"])


@pytest.fixture
def signed_in(browser_for: Any, seeded: dict[str, int]) -> Any:  # noqa: F811
    """browser_for that also knows the dashboard's extra people."""
    from tests.editor.conftest import Browser, csrf_from

    def make(who: str | None) -> Any:
        if who not in MORE_PEOPLE:
            return browser_for(who)
        browser = browser_for(None)
        response = browser.sign_in(MORE_PEOPLE[who][0])
        assert response.status_code == 302
        browser.token = csrf_from(browser.get("/login").get_data(as_text=True))
        assert isinstance(browser, Browser)
        return browser

    return make
