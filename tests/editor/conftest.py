"""Editor fixtures: a real app on a real database (SQLite file, and PostgreSQL when reachable)
with one signed-in-able person per role, and helpers to sign in with a real session cookie."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TEST_LEXICONS = Path(__file__).resolve().parent.parent / "server" / "lexicons"
PASSWORD = "correct horse battery"
# role label -> (e-mail, role, team)
PEOPLE = {
    "admin": ("admin@example.test", "admin", None),
    "lead": ("lead@example.test", "lead", "support"),
    "other-lead": ("lead@other.test", "lead", "billing"),
    "trainer": ("trainer@example.test", "trainer", "support"),
    "agent": ("agent@example.test", "agent", "support"),
}
TEAM_RULE = {
    "id": "team-no-refunds",
    "team": "support",
    "patterns": ["no refunds"],
    "category": "policy",
    "question": 3,
    "message": "A flat no closes the door.",
    "suggestions": ["Here's what I can do instead{, name}: …"],
    "examples": {"flags": ["There are no refunds."], "passes": ["Your refund is on its way."]},
}


def make_people(runtime: Any) -> None:
    from assistant.editor import rules
    from assistant.storage import accounts

    with runtime.sessions.begin() as session:
        for email, role, team in PEOPLE.values():
            accounts.create_user(session, email, role, PASSWORD, team)
        rules.save(session, dict(TEAM_RULE), rules.CLI)


@pytest.fixture
def editor_app(database_url: str) -> Any:
    from assistant import create_app

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "EMPATHY_LEXICON_DIR": str(TEST_LEXICONS),
            "EMPATHY_SECURE_COOKIES": False,
            "TESTING": True,
        }
    )
    make_people(app.extensions["empathy"])
    yield app
    app.extensions["empathy"].stop()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass
class Browser:
    """A Flask test client that signs in through the real form and posts with the CSRF token."""

    client: Any
    token: str = ""

    def sign_in(self, email: str, password: str = PASSWORD) -> Any:
        page = self.client.get("/login")
        self.token = csrf_from(page.get_data(as_text=True))
        return self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": self.token}
        )

    def post(self, url: str, data: dict | None = None, **kwargs: Any) -> Any:
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)


@pytest.fixture
def browser_for(editor_app: Any):
    def make(who: str | None) -> Browser:
        browser = Browser(editor_app.test_client())
        browser.token = csrf_from(browser.get("/login").get_data(as_text=True))
        if who is not None:
            response = browser.sign_in(PEOPLE[who][0])
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            # The token stays valid for this session; refresh it from a signed-in page.
            browser.token = csrf_from(browser.get("/login").get_data(as_text=True))
        return browser

    return make


def seed_nudges(runtime: Any, rule: str, actions: list[str | None], team: str = "support") -> None:
    """Nudges of `rule` shown in a team's conversation, each with feedback `action` (or none)."""
    from sqlalchemy import select

    from assistant.storage.models import Conversation, Feedback, Nudge, Team

    with runtime.sessions.begin() as session:
        team_id = session.scalar(select(Team.id).where(Team.name == team))
        conversation = Conversation(team_id=team_id, external_id=f"seed-{rule}")
        session.add(conversation)
        session.flush()
        for i, action in enumerate(actions):
            nudge = Nudge(
                public_id=f"n-{rule}-{i}",
                conversation_id=conversation.id,
                trigger="draft",
                rule=rule,
                category="seed",
                question=2,
                severity="suggestion",
            )
            session.add(nudge)
            session.flush()
            if action:
                session.add(Feedback(nudge_id=nudge.id, action=action))
