"""In Debian's chromium (Playwright, never a downloaded browser): a lead signs in, adds a rule
through the page, and an agent's draft over a live websocket is flagged by it within 2 s;
reverting restores the old behaviour; a trainer cannot edit. Real server on a loopback port.

EMPATHY_SCREENSHOTS=1 refreshes docs/images/editor-*.png."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.server.client import Agent

from .conftest import PASSWORD, PEOPLE, TEST_LEXICONS, make_people, seed_nudges

CHROMIUM = Path("/usr/bin/chromium")
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
DRAFT = "As per my last email, the parcel left on Monday."
LIVE_WITHIN = 2.0

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} missing (apt-get install chromium)"
)


@pytest.fixture
def server(start_server: Any, tmp_path: Path) -> Any:
    live = start_server(
        f"sqlite:///{tmp_path / 'editor.sqlite3'}",
        EMPATHY_LEXICON_DIR=str(TEST_LEXICONS),
        EMPATHY_LEXICON_POLL=0.2,
        EMPATHY_SECURE_COOKIES=False,
    )
    make_people(live.runtime)
    # Some history for the statistics columns (and the screenshots).
    seed_nudges(live.runtime, "test-calm-down", ["unhelpful"] * 3 + ["dismissed", "applied"])
    seed_nudges(live.runtime, "test-inconvenience", ["applied"] * 4 + [None] * 3)
    return live


def signed_in_page(chromium: Any, server: Any, who: str) -> Any:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(server.url + "login")
    page.get_by_label("E-mail").fill(PEOPLE[who][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/lexicon/")
    return page


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("EMPATHY_SCREENSHOTS"):
        IMAGES.mkdir(exist_ok=True)
        page.screenshot(path=str(IMAGES / f"editor-{name}.png"), full_page=True)


def flagged_within(agent: Agent, rule: str, present: bool, seconds: float) -> float:
    """Send drafts until `rule` is (or is no longer) flagged; how long it took."""
    start = time.monotonic()
    n = 0
    while True:
        n += 1
        items = agent.draft(f"d{n}", DRAFT)["items"]
        if any(item["rule"] == rule for item in items) == present:
            return time.monotonic() - start
        if time.monotonic() - start > seconds:
            pytest.fail(f"{rule} {'not ' if present else 'still '}flagged after {seconds}s")
        time.sleep(0.1)


def test_lead_adds_a_rule_live_then_reverts_it(chromium: Any, server: Any) -> None:
    agent = Agent(server.ws_url)
    agent.hello(server.new_token("alice", "support"))
    assert not any(i["rule"] == "per-my-last-email" for i in agent.draft("d0", DRAFT)["items"])

    page = signed_in_page(chromium, server, "lead")
    screenshot(page, "rules")
    page.get_by_role("link", name="Add a rule").click()
    page.get_by_label("Rule id").fill("per-my-last-email")
    page.get_by_label("Phrases (one per line)").fill("as per my (last|previous) email")
    page.get_by_label("Message to the agent").fill("This reads as a reproach. How would it feel?")
    page.get_by_label("Better phrasings (one per line)").fill(
        "Let me recap where we are{, name}: …"
    )
    page.get_by_label("Checklist question").select_option("2")
    page.get_by_label("Category").fill("passive-aggressive")
    page.get_by_label("Examples it must flag (one per line)").fill(DRAFT)
    # Live validation: one example is still missing, and the page says so before saving.
    status = page.locator("#try-status")
    expect(status).to_contain_text("problems")
    assert "examples.passes needs at least one entry" in page.locator("#try-problems").inner_text()
    page.get_by_label("Examples it must not flag (one per line)").fill("My last email had it.")
    page.get_by_label("Sentences (one per line)").fill("As per my previous email, yes.\nHi!")
    expect(page.locator("#try-sentences li")).to_have_count(2)
    expect(status).to_have_text("The rule is valid.")
    assert page.locator("#try-sentences li.flagged").count() == 1
    screenshot(page, "rule-form")
    page.get_by_role("button", name="Save — live within seconds").click()
    page.wait_for_url("**/lexicon/rules/per-my-last-email@support")
    assert "Saved per-my-last-email@support" in page.locator(".flash").inner_text()

    assert flagged_within(agent, "per-my-last-email", True, LIVE_WITHIN) <= LIVE_WITHIN

    page.get_by_role("main").get_by_role("link", name="History").click()
    screenshot(page, "history")
    page.get_by_role("button", name="Revert this change").first.click()
    assert "Reverted" in page.locator(".flash").inner_text()
    assert flagged_within(agent, "per-my-last-email", False, LIVE_WITHIN) <= LIVE_WITHIN
    assert page.errors == []
    agent.close()
    page.context.close()


def test_a_trainer_cannot_edit(chromium: Any, server: Any) -> None:
    page = signed_in_page(chromium, server, "trainer")
    assert page.get_by_role("link", name="Add a rule").count() == 0
    assert page.goto(server.url + "lexicon/rules/new").status == 403
    page.goto(server.url + "lexicon/rules/test-calm-down")  # readable, not editable
    assert page.locator("fieldset[disabled]").count() == 1
    assert page.get_by_role("button", name="Save — live within seconds").count() == 0
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    attempt = page.request.post(
        server.url + "lexicon/rules/test-calm-down",
        form={"csrf_token": token, "rule_id": "test-calm-down", "patterns": "calm"},
    )
    assert attempt.status == 403
    assert (
        page.request.post(
            server.url + "lexicon/rules/test-calm-down/enabled", form={"csrf_token": token}
        ).status
        == 403
    )
    page.context.close()


def test_empowerment_page_screenshot(chromium: Any, server: Any) -> None:
    page = signed_in_page(chromium, server, "lead")
    page.get_by_role("link", name="Empowerment").click()
    page.get_by_label("What agents may offer without asking").fill("Refund up to $50")
    page.get_by_label("Situations it fits", exact=False).fill("(charged|billed) twice")
    page.get_by_role("button", name="Add offer").click()
    assert "Refund up to $50" in page.locator("table").inner_text()
    screenshot(page, "empowerment")
    page.context.close()


def test_offers_ride_on_question_3_nudges_over_the_websocket(server: Any) -> None:
    from assistant.editor import rules
    from assistant.storage.lexicon_store import current_version

    offer = {"id": "refund-50", "role": "empowerment", "team": "support",
             "message": "Refund up to $50", "patterns": ["(charged|billed) twice"]}  # fmt: skip
    with server.runtime.sessions.begin() as session:
        rules.save(session, offer, rules.Actor("lead@example.test"))
    agent = Agent(server.ws_url)
    agent.hello(server.new_token("carol", "support"))
    with server.runtime.sessions() as session:
        saved_version = current_version(session)
    deadline = time.monotonic() + LIVE_WITHIN
    while server.runtime.lexicons.version < saved_version:  # the poller picks it up
        assert time.monotonic() < deadline, "the offer was not live within 2 s"
        time.sleep(0.05)
    agent.customer("c1", "I was charged twice for one order!")
    items = agent.draft("d1", "Sorry, there are no refunds.")["items"]
    assert [i["empowered"] for i in items if i["rule"] == "team-no-refunds"] == [
        ["Refund up to $50"]
    ]
    agent.close()
