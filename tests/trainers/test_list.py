"""The flagged-transcripts list: who sees which conversations, each filter, keyset pages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from assistant.trainers import queries


def listed(browser: Any, query: str = "") -> list[str]:
    response = browser.get(f"/transcripts?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return sorted(set(re.findall(r">chat-([a-z-]+)</a>", response.get_data(as_text=True))))


SUPPORT_FLAGGED = ["applied", "mixed", "sent-anyway", "xss"]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("admin", sorted([*SUPPORT_FLAGGED, "imported"])),
        ("trainer", SUPPORT_FLAGGED),  # a trainer with a team sees that team
        ("lead", SUPPORT_FLAGGED),
        ("other-lead", ["imported"]),
    ],
)
def test_each_role_sees_its_scope(who: str, expected: list[str], seeded, browser_for) -> None:
    assert listed(browser_for(who)) == expected


def test_trainer_without_a_team_sees_every_team(seeded, editor_app, browser_for) -> None:
    from assistant.storage import accounts

    with editor_app.extensions["empathy"].sessions.begin() as session:
        accounts.create_user(session, "roaming@example.test", "trainer", "correct horse battery")
    browser = browser_for(None)
    assert browser.sign_in("roaming@example.test").status_code == 302
    assert listed(browser) == sorted([*SUPPORT_FLAGGED, "imported"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("agent=sam", ["mixed", "sent-anyway"]),
        ("agent=bo", ["imported"]),
        ("team=billing", ["imported"]),
        ("since=2026-01-12&until=2026-01-13", ["imported", "mixed"]),
        ("until=2026-01-10", ["applied"]),
        ("question=2", ["sent-anyway"]),
        ("question=3", ["applied", "imported", "xss"]),
        ("rule=as-per-policy", ["applied", "imported", "xss"]),
        ("rule=cold-no", ["mixed"]),
        ("severity=info", ["mixed"]),
        ("severity=warning", ["applied", "imported", "xss"]),
        ("outcome=applied", ["applied"]),
        ("outcome=dismissed", ["mixed"]),
        ("outcome=rewritten", ["mixed"]),  # the applied nudge was not sent either: not rewritten
        ("outcome=sent-anyway", ["sent-anyway"]),
        ("q=zebra", ["applied"]),
        ("q=ZEBRA", ["applied"]),
        ("q=charged", ["imported"]),
        ("q=nothing-like-this", []),
        ("q=%25", []),  # a literal %, not a wildcard
        ("q=_", []),
        ("rule=as-per-policy&outcome=applied", ["applied"]),
        ("rule=as-per-policy&question=2", []),  # one flag must match every filter
        ("team=billing&rule=cold-no", []),
    ],
)
def test_filters(query: str, expected: list[str], seeded, browser_for) -> None:
    assert listed(browser_for("admin"), query) == expected


def test_bad_filters_are_explained_not_fatal(seeded, browser_for) -> None:
    response = browser_for("admin").get("/transcripts?question=9&since=yesterday&outcome=maybe")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Checklist question must be 1 to 5." in page
    assert "Since: use a date like" in page
    assert "Outcome must be one of" in page


def test_a_date_without_a_next_day_is_a_bad_date(seeded, browser_for) -> None:
    response = browser_for("admin").get("/transcripts?until=9999-12-31")
    assert response.status_code == 400
    assert "Until: use a date like" in response.get_data(as_text=True)


def test_keyset_pages_cover_everything_once(seeded, editor_app) -> None:
    with editor_app.extensions["empathy"].sessions() as session:
        seen, after, pages = [], "", 0
        while True:
            rows, after = queries.flagged_page(
                session, queries.Scope(), queries.Filters(), after, size=2
            )
            seen += [row.external_id for row in rows]
            pages += 1
            if not after:
                break
    assert pages == 3
    assert seen == [f"chat-{x}" for x in ("xss", "imported", "mixed", "sent-anyway", "applied")]


def test_next_page_link_keeps_the_filters(seeded, browser_for, monkeypatch) -> None:
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    browser = browser_for("admin")
    first = browser.get("/transcripts?severity=warning").get_data(as_text=True)
    assert re.findall(r">chat-([a-z-]+)</a>", first) == ["xss", "imported"]
    link = re.search(r'href="([^"]+)">Older', first).group(1).replace("&amp;", "&")
    assert "severity=warning" in link
    second = browser.get(link).get_data(as_text=True)
    assert re.findall(r">chat-([a-z-]+)</a>", second) == ["applied"]
    assert ">Older" not in second


def test_a_malformed_cursor_shows_the_first_page(seeded, browser_for) -> None:
    assert listed(browser_for("admin"), "after=garbage~x") == sorted([*SUPPORT_FLAGGED, "imported"])


@pytest.mark.parametrize(
    ("role", "team", "reach"),
    [
        ("admin", None, "all"),
        ("admin", "support", "all"),
        ("trainer", None, "all"),
        ("trainer", "support", "team"),
        ("lead", "support", "team"),
        ("lead", None, None),
        ("agent", "support", "own"),
        ("agent", None, "own"),
    ],
)
def test_one_decision_of_who_reads_what(role: str, team: str | None, reach: str | None) -> None:
    """The trainers' pages and the dashboard both ask SignedIn.reach()."""
    from assistant.auth.roles import SignedIn

    assert SignedIn(1, "x@y.test", role, team).reach() == reach
