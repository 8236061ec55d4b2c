"""The dashboard's numbers for a seeded database (counted by hand in conftest.seed), who may
see which numbers, and SVG that parses and keeps every name inert."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest

from .conftest import RANGE

D_X = datetime(2026, 3, 2, 12, tzinfo=UTC)

NS = "{http://www.w3.org/2000/svg}"


def charts(html: str) -> list[ET.Element]:
    """Every <svg> on the page, parsed as XML (fails on anything not well-formed)."""
    found = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert found, "no chart on the page"
    return [ET.fromstring(svg) for svg in found]


def chart(html: str, title: str) -> ET.Element:
    for svg in charts(html):
        if svg.get("aria-label", "").startswith(title):
            return svg
    raise AssertionError(f"no chart titled {title!r}")


def values(svg: ET.Element, series: str) -> dict[str, str]:
    """{label: value} of one series' data points."""
    points = {}
    for node in svg.iter():
        if node.get("data-value") is None:
            continue
        parent_series = node.get("data-series")
        if parent_series is None:
            group = next(g for g in svg.iter(NS + "g") if node in list(g))
            parent_series = group.get("data-series")
        if parent_series == series:
            points[node.get("data-label")] = node.get("data-value")
    return points


def page(browser: Any, url: str, **params: str) -> str:
    response = browser.get(url, query_string={**RANGE, **params})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def nonzero(points: dict[str, str]) -> dict[str, str]:
    return {label: value for label, value in points.items() if value != "0"}


def test_lead_sees_their_teams_numbers(signed_in):
    html = page(signed_in("lead"), "/dashboard", by="day")
    by_question = chart(html, "Nudges per checklist question")
    assert nonzero(values(by_question, "Q2")) == {"2026-03-02": "2", "2026-03-03": "1"}
    assert nonzero(values(by_question, "Q4")) == {"2026-03-02": "1", "2026-03-10": "1"}
    assert nonzero(values(by_question, "Q1")) == {}
    assert len(values(by_question, "Q2")) == 9  # one point per day of the range
    by_rule = chart(html, "Nudges per rule")
    assert nonzero(values(by_rule, "r-calm")) == {"2026-03-02": "2", "2026-03-03": "1"}
    assert nonzero(values(by_rule, "r-sorry")) == {"2026-03-02": "1", "2026-03-10": "1"}

    rates = chart(html, "Share of nudges")
    # support: 5 nudges shown; applied 2 (one nudge applied twice counts once), dismissed 1,
    # not helpful 1 (the question-4 nudge).
    assert values(rates, "applied")["All questions"] == "0.4"
    assert values(rates, "dismissed")["All questions"] == "0.2"
    assert values(rates, "not helpful")["All questions"] == "0.2"
    assert values(rates, "applied")["Q2"] == "0.6667"
    assert values(rates, "not helpful")["Q4"] == "0.5"

    waits = chart(html, "Customer waiting time")
    assert nonzero(values(waits, "count")) == {"< 15 s": "1", "30–60 s": "1", "2–5 min": "1"}
    assert "and 1 conversation(s) where the customer" in html
    assert 'name="team"' not in html  # leads get no team picker
    assert 'href="/dashboard"' in html  # the nav link


def test_by_week(signed_in):
    html = page(signed_in("lead"), "/dashboard", by="week")
    by_question = chart(html, "Nudges per checklist question")
    assert values(by_question, "Q2") == {"wk 2026-03-02": "3", "wk 2026-03-09": "0"}
    assert values(by_question, "Q4") == {"wk 2026-03-02": "1", "wk 2026-03-09": "1"}


def test_date_range_filters(signed_in):
    html = page(signed_in("lead"), "/dashboard", start="2026-03-03", end="2026-03-03")
    by_question = chart(html, "Nudges per checklist question")
    assert values(by_question, "Q2") == {"2026-03-03": "1"}
    assert values(by_question, "Q4") == {"2026-03-03": "0"}
    waits = chart(html, "Customer waiting time")
    assert nonzero(values(waits, "count")) == {"< 15 s": "1"}


def test_admin_sees_every_team_or_picks_one(signed_in):
    admin = signed_in("admin")
    html = page(admin, "/dashboard")
    assert nonzero(values(chart(html, "Nudges per checklist question"), "Q2")) == {
        "2026-03-02": "4",  # support 2 + billing 2
        "2026-03-03": "1",
    }
    assert nonzero(values(chart(html, "Customer waiting time"), "count"))["≥ 10 min"] == "1"
    assert '<option value="billing"' in html
    billing = page(admin, "/dashboard", team="billing")
    assert nonzero(values(chart(billing, "Nudges per checklist question"), "Q2")) == {
        "2026-03-02": "2"
    }
    assert values(chart(billing, "Share of nudges"), "applied")["All questions"] == "1"
    assert admin.get("/dashboard", query_string={"team": "nobody"}).status_code == 404


def test_rule_before_and_after_its_change(signed_in):
    html = page(signed_in("lead"), "/dashboard", rule="r-calm")
    change = chart(html, "Nudges of r-calm per conversation")
    points = values(change, "per conversation")
    # Changed 2026-03-03 08:00: the 14 days before and after (up to today).
    assert len(points) == 28 and min(points) == "2026-02-17" and max(points) == "2026-03-16"
    assert nonzero(points) == {"2026-03-02": "2", "2026-03-03": "1"}
    assert "2 nudges in 1 conversations" in html  # before: 2 per conversation
    assert "1 nudges in 2 conversations" in html  # after: c2 and c4 started
    assert "0.50</strong> per conversation" in html


def test_a_team_rule_in_the_every_team_view_counts_only_that_team(editor_app, signed_in):
    """billing-own@billing changed 2026-03-03: a support nudge with the same rule id (from a
    global or support rule) and support's conversations stay out of its before/after."""
    from sqlalchemy import select

    from assistant.storage.models import Conversation, Nudge

    from .conftest import D1, at

    with editor_app.extensions["empathy"].sessions.begin() as session:
        for name in ("c1", "c3"):  # support's c1 and billing's c3, both started 2026-03-02
            cid = session.scalar(select(Conversation.id).where(Conversation.external_id == name))
            session.add(
                Nudge(
                    public_id=f"own-{name}",
                    conversation_id=cid,
                    trigger="draft",
                    rule="billing-own",
                    category="seed",
                    question=2,
                    severity="suggestion",
                    shown_at=at(D1, 12),
                )
            )
    html = page(signed_in("admin"), "/dashboard", rule="billing-own@billing")
    assert "1 nudges in 1 conversations" in html  # before: billing's c3 only
    assert "0 nudges in 0 conversations" in html  # after: billing started none
    assert "2 nudges in 2 conversations" not in html


def test_team_rules_of_other_teams_are_not_offered(signed_in):
    lead = signed_in("lead")
    html = page(lead, "/dashboard")
    assert "billing-own@billing" not in html
    assert "billing-own@billing" in page(signed_in("other-lead"), "/dashboard")
    response = lead.get("/dashboard", query_string={"rule": "billing-own@billing"})
    assert "has no recorded change here" in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ["lead", "trainer"])
def test_team_people_see_only_their_team(signed_in, who):
    browser = signed_in(who)
    assert browser.get("/dashboard", query_string={"team": "billing"}).status_code == 403
    assert browser.get("/dashboard", query_string={"team": "support"}).status_code == 200


def test_trainer_without_a_team_picks_any(signed_in):
    html = page(signed_in("free-trainer"), "/dashboard", team="billing")
    assert '<option value="billing" selected' in html


def test_agents_get_only_their_own_page(signed_in, seeded):
    agent = signed_in("agent")
    assert agent.get("/dashboard").status_code == 403
    assert agent.get("/dashboard", query_string={"team": "support"}).status_code == 403
    html = page(agent, "/me/dashboard", by="day")
    by_question = chart(html, "Nudges per checklist question")
    # c1 and c4 are this agent's; c2 (a teammate's) and c3 (another team's) are not.
    assert nonzero(values(by_question, "Q2")) == {"2026-03-02": "2"}
    assert nonzero(values(by_question, "Q4")) == {"2026-03-02": "1", "2026-03-10": "1"}
    assert nonzero(values(chart(html, "Customer waiting time"), "count")) == {
        "30–60 s": "1",
        "2–5 min": "1",
    }
    assert 'name="team"' not in html and "Before and after" not in html
    assert 'href="/me/dashboard"' in agent.get("/me").get_data(as_text=True)  # the nav link
    # The teammate's own page shows the teammate's numbers only.
    other = page(signed_in("agent2"), "/me/dashboard", by="day")
    assert nonzero(values(chart(other, "Nudges per checklist question"), "Q2")) == {
        "2026-03-03": "1"
    }


def test_signed_out_is_sent_to_sign_in(browser_for):
    browser = browser_for(None)
    for url in ("/dashboard", "/me/dashboard"):
        response = browser.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_bad_dates_get_a_clear_error(signed_in):
    lead = signed_in("lead")
    response = lead.get("/dashboard", query_string={"start": "yesterday"})
    assert response.status_code == 400
    assert "Dates must be written YYYY-MM-DD" in response.get_data(as_text=True)
    response = lead.get("/dashboard", query_string={"start": "2026-03-10", "end": "2026-03-01"})
    assert response.status_code == 400
    assert "start date is after the end date" in response.get_data(as_text=True)
    response = lead.get("/dashboard", query_string={"start": "2000-01-01", "end": "2026-03-01"})
    assert response.status_code == 200 and "Ranges are limited" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [{"end": "9999-12-31"}, {"end": "0001-01-01"}, {"start": "9999-12-31", "end": "9999-12-31"}],
)
def test_dates_at_the_calendars_edge_are_bad_dates(signed_in, query):
    """The range ends at the midnight after `end` (and starts 30 days before it): a date with
    no such neighbour is a bad date, not a 500."""
    for url in ("/dashboard", "/me/dashboard"):
        who = "lead" if url == "/dashboard" else "agent"
        response = signed_in(who).get(url, query_string=query)
        assert response.status_code == 400, (url, query)
        assert "Dates must be written YYYY-MM-DD" in response.get_data(as_text=True)


def test_security_headers(signed_in):
    response = signed_in("lead").get("/dashboard")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_names_with_markup_are_inert(editor_app, signed_in):
    from sqlalchemy import select

    from assistant.storage.models import Conversation, Nudge, Team

    evil_team, evil_rule = "<script>alert(1)</script>", '<img src=x onerror="alert(2)">'
    with editor_app.extensions["empathy"].sessions.begin() as session:
        team = Team(name=evil_team)
        session.add(team)
        session.flush()
        conversation = Conversation(team_id=team.id, external_id="x", created_at=D_X)
        session.add(conversation)
        session.flush()
        session.add(
            Nudge(
                public_id="evil",
                conversation_id=conversation.id,
                trigger="draft",
                rule=evil_rule,
                category="x",
                question=1,
                severity="warning",
                shown_at=D_X,
            )
        )
        assert session.scalar(select(Team.id).where(Team.name == evil_team))
    html = page(signed_in("admin"), "/dashboard", team=evil_team)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    by_rule = chart(html, "Nudges per rule")  # parses: the markup is escaped inside the SVG
    assert nonzero(values(by_rule, evil_rule)) == {"2026-03-02": "1"}
    legend = [t.text for t in by_rule.iter(NS + "text")]
    assert any(t and t.startswith("<img src=x") for t in legend)


def test_rules_beyond_the_top_eight_are_summed(editor_app, signed_in):
    from sqlalchemy import select

    from assistant.storage.models import Conversation, Nudge

    with editor_app.extensions["empathy"].sessions.begin() as session:
        c1 = session.scalar(select(Conversation.id).where(Conversation.external_id == "c1"))
        for n in range(9):  # rules x0..x8, x8 shown once, the others more often than r-sorry
            for k in range(3 if n < 8 else 1):
                session.add(
                    Nudge(
                        public_id=f"x{n}-{k}",
                        conversation_id=c1,
                        trigger="draft",
                        rule=f"x{n}",
                        category="x",
                        question=5,
                        severity="suggestion",
                        shown_at=D_X,
                    )
                )
    html = page(signed_in("lead"), "/dashboard", by="week")
    by_rule = chart(html, "Nudges per rule")
    series = [g.get("data-series") for g in by_rule.iter(NS + "g")]
    assert series == ["r-calm", *(f"x{n}" for n in range(7)), "other rules"]
    # other: x7 (3) + x8 (1) + r-sorry (1 + 1)
    assert values(by_rule, "other rules") == {"wk 2026-03-02": "5", "wk 2026-03-09": "1"}


def test_waiting_times_sample_one_conversation_in_n_past_the_limit(editor_app, seeded):
    from datetime import date

    from sqlalchemy import select

    from assistant.dashboard import queries
    from assistant.storage.models import Conversation

    runtime = editor_app.extensions["empathy"]
    every_team = queries.Scope(date(2026, 3, 2), date(2026, 3, 10))
    with runtime.sessions() as session:
        ids = dict(session.execute(select(Conversation.external_id, Conversation.id)).all())
        full = queries.waiting_times(session, every_team)
        sampled = queries.waiting_times(session, every_team, sample=2)
    # c1: 40 s and 120 s (and unanswered), c2: 5 s, c3: 700 s, c4: no messages.
    assert (full.every, full.conversations, full.unanswered) == (1, 4, 1)
    assert full.counts == [1, 0, 1, 0, 1, 0, 1]
    assert (sampled.every, sampled.conversations) == (2, 4)
    kept = {name for name, cid in ids.items() if cid % 2 == 0}
    expected = [0] * 7
    for name, buckets in {"c1": (2, 4), "c2": (0,), "c3": (6,)}.items():
        for bucket in buckets if name in kept else ():
            expected[bucket] += 1
    assert sampled.counts == expected
    assert sampled.unanswered == (1 if "c1" in kept else 0)
