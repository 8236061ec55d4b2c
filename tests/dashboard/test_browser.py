"""The dashboard in Debian's chromium: a lead's page draws its SVG charts under the strict CSP
with JavaScript switched off (nothing needs it), with no page error and no CSP violation.

EMPATHY_SCREENSHOTS=1 refreshes docs/images/dashboard.png."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.editor.conftest import PASSWORD, PEOPLE, TEST_LEXICONS, make_people

CHROMIUM = Path("/usr/bin/chromium")
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
RULES = [  # (rule, question, nudges a day before the change, after it)
    ("sorry-for-the-inconvenience", 2, 5, 4),
    ("as-per-policy", 3, 4, 3),
    ("calm-down", 2, 3, 1),  # the rule whose change the chart shows
    ("customer-waiting", 2, 2, 2),
    ("unacknowledged-feeling", 1, 3, 3),
    ("customer-name-unused", 4, 2, 2),
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} missing (apt-get install chromium)"
)


def seed_month(runtime: Any) -> None:
    """Four weeks of a team's conversations (seeded RNG): nudges, feedback, waiting times, and
    a change to calm-down two weeks ago after which it fires less."""
    from sqlalchemy import select

    from assistant.storage.models import (
        Conversation,
        Feedback,
        LexiconRevision,
        Message,
        Nudge,
        Team,
        User,
    )

    rng = random.Random(6)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    changed = today - timedelta(days=13, hours=-9)
    with runtime.sessions.begin() as session:
        team_id = session.scalar(select(Team.id).where(Team.name == "support"))
        agent_id = session.scalar(select(User.id).where(User.email == PEOPLE["agent"][0]))
        for day in range(27, -1, -1):
            start = today - timedelta(days=day) + timedelta(hours=8)
            for c in range(rng.randint(6, 10)):
                begun = start + timedelta(minutes=50 * c)
                conversation = Conversation(
                    team_id=team_id, external_id=f"d{day}c{c}", agent_id=agent_id, created_at=begun
                )
                session.add(conversation)
                session.flush()
                when = begun
                for n in range(3):
                    session.add(
                        Message(
                            conversation_id=conversation.id,
                            client_id=f"c{n}",
                            author="customer",
                            text="…",
                            sent_at=when,
                        )
                    )
                    when += timedelta(seconds=rng.lognormvariate(3.8, 0.9))
                    session.add(
                        Message(
                            conversation_id=conversation.id,
                            client_id=f"a{n}",
                            author="agent",
                            text="…",
                            sent_at=when,
                        )
                    )
                    when += timedelta(seconds=rng.randint(20, 120))
            for rule, question, before, after in RULES:
                rate = before if start < changed else after
                for k in range(max(0, round(rng.gauss(rate * 2, 1.5)))):
                    nudge = Nudge(
                        public_id=f"{rule}-{day}-{k}",
                        conversation_id=conversation.id,
                        trigger="draft",
                        rule=rule,
                        category="seed",
                        question=question,
                        severity="suggestion",
                        shown_at=start + timedelta(minutes=7 * k),
                    )
                    session.add(nudge)
                    session.flush()
                    roll = rng.random()
                    action = (
                        "applied"
                        if roll < 0.45
                        else "dismissed"
                        if roll < 0.6
                        else ("unhelpful" if roll < 0.68 else None)
                    )
                    if action:
                        session.add(Feedback(nudge_id=nudge.id, action=action))
        session.add(
            LexiconRevision(
                rule_key="calm-down", action="edit", actor=PEOPLE["lead"][0], created_at=changed
            )
        )


@pytest.fixture
def server(start_server: Any, tmp_path: Path) -> Any:
    live = start_server(
        f"sqlite:///{tmp_path / 'dashboard.sqlite3'}",
        EMPATHY_LEXICON_DIR=str(TEST_LEXICONS),
        EMPATHY_SECURE_COOKIES=False,
    )
    make_people(live.runtime)
    seed_month(live.runtime)
    return live


def test_lead_dashboard_draws_without_javascript(chromium: Any, server: Any) -> None:
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(server.url + "login")
    page.get_by_label("E-mail").fill(PEOPLE["lead"][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    cookies = context.cookies()
    context.close()

    # A fresh context with JavaScript off and the session cookie: the charts need no script.
    context = chromium.new_context(
        viewport={"width": 1100, "height": 900}, java_script_enabled=False
    )
    context.add_cookies(cookies)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "dashboard?rule=calm-down")
    assert page.locator("h1").inner_text().startswith("Dashboard")
    charts = page.locator("svg.chart")
    assert charts.count() == 5
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 150  # drawn, not collapsed
    assert page.locator("svg.chart circle[data-series]").count() == 0  # data sits on groups
    assert page.locator("svg.chart g[data-series='Q2'] circle").count() == 30  # 30 days
    assert page.locator("#rule-change").get_by_text("per conversation").count() >= 2
    assert problems == []  # no CSP violation (reported on the console), no page error
    if os.environ.get("EMPATHY_SCREENSHOTS"):
        IMAGES.mkdir(exist_ok=True)
        page.screenshot(path=str(IMAGES / "dashboard.png"), full_page=True)
    context.close()
