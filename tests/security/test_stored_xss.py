"""Stored XSS, in Debian's Chromium: markup planted in a rule message, a suggestion, an
empowerment offer, a team name, a user's e-mail, an agent's name and an audit entry is shown as
text on every signed-in page (walked from the app's url_map, so pages added later are covered)
and in the extension's nudge card. Checked in the DOM — no planted <img>/<script> element exists —
not only by "nothing ran" (the CSP would stop a script even if escaping failed).
Transcripts and coaching notes: tests/trainers (helper T1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import browser, pages, settings_for  # noqa: F401 (fixtures)
from tests.browser.harness import configure, open_editor_page, type_into_editor, wait_for_nudge
from tests.editor.conftest import PASSWORD, PEOPLE, make_people

from .conftest import TEST_LEXICONS
from .test_web_headers import routes

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing")

IMG = '<img src="x" class="planted" onerror="window.pwned=(window.pwned||0)+1">'
SCRIPT = "<script>window.pwned=(window.pwned||0)+1</script>"
XSS = f"{SCRIPT}{IMG}"
TEAM = f"night{IMG}"
AGENT = f"Sam{SCRIPT}"
EMAIL = f"eve{SCRIPT}@example.test"
RULE_ID = "xss-planted"
TRIGGER = "zebra xylophone"

# What the DOM must not contain, and what "nothing ran" looks like.
INERT_JS = """() => ({
    pwned: window.pwned || 0,
    planted: document.querySelectorAll('img.planted, img[src="x"]').length,
    scripts: [...document.scripts].filter((s) => s.textContent.includes('pwned')).length,
    shown: (document.body.innerText + [...document.querySelectorAll('input, textarea')]
        .map((e) => e.value).join(' ')).includes('window.pwned'),
})"""


def plant(runtime: Any) -> None:
    from assistant.editor import rules
    from assistant.storage import accounts, audit

    with runtime.sessions.begin() as session:
        accounts.get_or_create_team(session, TEAM)
        accounts.create_agent(session, AGENT, TEAM)
        accounts.create_user(session, EMAIL, "trainer", PASSWORD, TEAM)
        audit.record(session, "team.create", TEAM, details={"note": XSS})
        rules.save(session, xss_rule(), rules.CLI)
        offer = {
            "id": "xss-offer",
            "role": "empowerment",
            "category": "empowerment",
            "question": 3,
            "message": XSS,
            "patterns": [],
            "suggestions": [],
        }
        rules.save(session, offer, rules.CLI)


def xss_rule(team: str | None = None) -> dict[str, Any]:
    rule = {
        "id": RULE_ID,
        "patterns": [TRIGGER],
        "category": "custom",
        "question": 3,  # the planted empowerment offer is for question 3: the card shows it
        "severity": "suggestion",
        "message": f"Planted {XSS} message",
        "suggestions": [f"Planted {XSS} suggestion"],
        "examples": {"flags": [f"A {TRIGGER}."], "passes": ["Thanks, looking now."]},
    }
    return {**rule, "team": team} if team else rule


@pytest.fixture
def planted_server(start_server: Any, tmp_path: Path) -> Any:
    server = start_server(
        f"sqlite:///{tmp_path / 'xss.sqlite3'}",
        EMPATHY_LEXICON_DIR=str(TEST_LEXICONS),
        EMPATHY_LEXICON_POLL=0.2,
        EMPATHY_SECURE_COOKIES=False,
    )
    make_people(server.runtime)
    plant(server.runtime)
    return server


@pytest.mark.parametrize("who", ["admin", "lead"])
def test_planted_markup_is_text_on_every_page(chromium: Any, planted_server: Any, who: str):
    context = chromium.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(planted_server.url + "login")
    page.get_by_label("E-mail").fill(PEOPLE[who][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()

    results, shown_on = {}, []
    for endpoint, _, url in routes(planted_server.app, {"GET"}):
        if endpoint.split(".")[0] in ("live", "web") or endpoint.endswith("export"):
            continue  # the websocket, static files, the demo; export is a download
        url = url.replace("test-calm-down", RULE_ID)
        response = page.goto(planted_server.url.rstrip("/") + url)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        state = page.evaluate(INERT_JS)
        results[url] = state
        if state["shown"]:
            shown_on.append(url)
    context.close()

    assert dialogs == []
    assert {
        url: s for url, s in results.items() if s["pwned"] or s["planted"] or s["scripts"]
    } == {}
    expected = {f"/lexicon/rules/{RULE_ID}", "/lexicon/"}
    if who == "admin":
        expected |= {"/admin/users", "/admin/teams", "/admin/audit"}
    assert expected <= set(shown_on), shown_on  # the markup was there to be escaped


def test_planted_markup_is_text_in_the_extensions_nudge_card(
    browser: Any,  # noqa: F811 (the extension's Chromium, tests/browser/conftest.py)
    pages: Any,  # noqa: F811
    settings_for: Any,  # noqa: F811
    planted_server: Any,
) -> None:
    configure(browser, settings_for(planted_server.url, planted_server.new_token("xss-agent")))
    page = open_editor_page(browser, pages.url("textarea.html") + "?xss")
    try:
        type_into_editor(page, f"A {TRIGGER}.")
        card = wait_for_nudge(page, RULE_ID)
        text = card.text_content()
        assert f"Planted {XSS} message" in text
        assert f"Planted {XSS} suggestion" in text
        assert XSS in card.locator(".empowered").text_content()  # the planted offer
        assert card.locator("img, script").count() == 0
        assert page.evaluate("window.pwned || 0") == 0
    finally:
        page.close()
