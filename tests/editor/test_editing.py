"""Editing through the pages and the CLI, on a real database: validation, Try it, history and
revert, import/export, team switch-offs, empowerment offers, statistics, sign-in safety."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import yaml

from assistant.engine import Context, Engine, rules_from_dicts
from assistant.storage.lexicon_store import disabled_by_team, rule_dicts

from .conftest import PEOPLE, TEAM_RULE, seed_nudges

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NEW_RULE = {
    "rule_id": "per-my-last-email",
    "team": "support",
    "role": "agent",
    "category": "passive-aggressive",
    "question": "2",
    "severity": "warning",
    "scope": "anywhere",
    "patterns": "as per my (last|previous) email",
    "message": "This reads as a reproach.",
    "suggestions": "Let me recap where we are{, name}: …",
    "flags": "As per my last email, the parcel left on Monday.",
    "passes": "My last email had the tracking number.",
    "enabled": "y",
}


def live_engine(app: Any) -> Engine:
    """The engine a server process would build now from the stored rules."""
    with app.extensions["empathy"].sessions() as session:
        rules = rules_from_dicts(rule_dicts(session), source="database")
        return Engine(rules, disabled=disabled_by_team(session))


def flagged(app: Any, text: str, team: str = "support") -> set[str]:
    return {f.rule for f in live_engine(app).analyse(text, team=team)}


def test_a_lead_adds_a_rule_and_it_flags_their_team_only(editor_app, browser_for) -> None:
    lead = browser_for("lead")
    response = lead.post("/lexicon/rules/new", NEW_RULE)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    text = "As per my previous email, it shipped."
    assert "per-my-last-email" in flagged(editor_app, text, "support")
    assert "per-my-last-email" not in flagged(editor_app, text, "billing")


def test_a_broken_rule_is_refused_with_the_lexicon_errors(editor_app, browser_for) -> None:
    lead = browser_for("lead")
    broken = {**NEW_RULE, "patterns": "as per (my last email", "passes": ""}
    response = lead.post("/lexicon/rules/new", broken)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "per-my-last-email" in page and "Not saved" in page
    assert "examples.passes needs at least one entry" in page
    with editor_app.extensions["empathy"].sessions() as session:
        assert all(r["id"] != "per-my-last-email" for r in rule_dicts(session))


def test_a_rule_that_misses_its_own_example_is_refused(editor_app, browser_for) -> None:
    lead = browser_for("lead")
    response = lead.post("/lexicon/rules/new", {**NEW_RULE, "flags": "Per our chat, fine."})
    assert response.status_code == 400
    assert "should flag" in response.get_data(as_text=True)


def test_try_it_runs_the_unsaved_rule(editor_app, browser_for) -> None:
    trainer = browser_for("trainer")  # trying is harmless: trainers may, too
    result = trainer.post(
        "/lexicon/try",
        {**NEW_RULE, "try_sentences": "As per my last email, yes.\nHello there"},
    ).get_json()
    assert result["ok"] is True
    assert [s["matches"] for s in result["sentences"]] == [["As per my last email"], []]
    assert {e["expected"]: e["flagged"] for e in result["examples"]} == {
        "flag": True,
        "pass": False,
    }
    assert result["recent"] == {"checked": 0, "flagged": 0, "samples": []}
    bad = trainer.post("/lexicon/try", {**NEW_RULE, "question": "9"}).get_json()
    assert bad["ok"] is False and bad["problems"]


def test_history_and_one_click_revert(editor_app, browser_for) -> None:
    lead = browser_for("lead")
    key = f"{TEAM_RULE['id']}@support"
    form = {**NEW_RULE, "rule_id": TEAM_RULE["id"], "patterns": "no refunds\nnon-refundable"}
    form |= {"flags": "There are no refunds.", "passes": "Your refund is on its way."}
    assert lead.post(f"/lexicon/rules/{key}", form).status_code == 302
    assert "team-no-refunds" in flagged(editor_app, "That ticket is non-refundable.")
    history = lead.get(f"/lexicon/rules/{key}/history").get_data(as_text=True)
    assert "+- non-refundable" in history and "lead@example.test" in history
    from sqlalchemy import select

    from assistant.storage.models import LexiconRevision

    with editor_app.extensions["empathy"].sessions() as session:
        edit = session.scalar(
            select(LexiconRevision).where(LexiconRevision.action == "edit").limit(1)
        )
    assert lead.post(f"/lexicon/revisions/{edit.id}/revert").status_code == 302
    assert "team-no-refunds" not in flagged(editor_app, "That ticket is non-refundable.")
    assert "team-no-refunds" in flagged(editor_app, "There are no refunds.")


def test_disable_delete_and_restore(editor_app, browser_for) -> None:
    admin = browser_for("admin")
    assert admin.post("/lexicon/rules/test-calm-down/enabled").status_code == 302
    assert "test-calm-down" not in flagged(editor_app, "Please calm down.")
    assert admin.post("/lexicon/rules/test-calm-down/enabled").status_code == 302
    assert "test-calm-down" in flagged(editor_app, "Please calm down.")
    assert admin.post("/lexicon/rules/test-calm-down/delete").status_code == 302
    assert "test-calm-down" not in flagged(editor_app, "Please calm down.")
    from sqlalchemy import select

    from assistant.storage.models import LexiconRevision

    with editor_app.extensions["empathy"].sessions() as session:
        deleted = session.scalar(select(LexiconRevision).where(LexiconRevision.action == "delete"))
    assert admin.post(f"/lexicon/revisions/{deleted.id}/revert").status_code == 302
    assert "test-calm-down" in flagged(editor_app, "Please calm down.")


def test_a_team_switches_a_global_rule_off_for_itself(editor_app, browser_for) -> None:
    lead = browser_for("lead")
    url = "/lexicon/rules/test-calm-down/team-switch"
    assert lead.post(url, {"off": "1"}).status_code == 302
    assert "test-calm-down" not in flagged(editor_app, "Please calm down.", "support")
    assert "test-calm-down" in flagged(editor_app, "Please calm down.", "billing")
    page = lead.get("/lexicon/").get_data(as_text=True)
    assert "off for team support" in page
    assert lead.post(url, {"off": "0"}).status_code == 302
    assert "test-calm-down" in flagged(editor_app, "Please calm down.", "support")


def test_empowerment_offers_reach_question_3_nudges(editor_app, browser_for) -> None:
    lead = browser_for("lead")
    offer = {"team": "support", "offer": "Refund up to $50", "situations": "(charged|billed) twice"}
    assert lead.post("/lexicon/empowerment", offer).status_code == 302
    engine = live_engine(editor_app)
    ctx = Context(team="support")
    engine.observe_customer(ctx, "I was charged twice for one order!")
    findings = engine.analyse("There are no refunds.", ctx)
    assert [f.empowered for f in findings if f.rule == "team-no-refunds"] == [["Refund up to $50"]]
    assert "Refund up to $50" in lead.get("/lexicon/empowerment").get_data(as_text=True)


def test_export_then_import_round_trips(editor_app, browser_for) -> None:
    lead = browser_for("lead")
    exported = lead.get("/lexicon/export?team=support").get_data(as_text=True)
    entries = yaml.safe_load(exported)["rules"]
    assert [e["id"] for e in entries] == ["team-no-refunds"]
    entries[0]["patterns"].append("refunds are not possible")
    entries[0]["examples"]["flags"].append("Refunds are not possible.")
    from io import BytesIO

    upload = (BytesIO(yaml.safe_dump({"rules": entries}).encode()), "support.yml")
    response = lead.post("/lexicon/import", {"file": upload})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert "team-no-refunds" in flagged(editor_app, "Sorry, refunds are not possible.")
    # A lead cannot slip a global rule in through an import.
    entries[0].pop("team")
    upload = (BytesIO(yaml.safe_dump({"rules": entries}).encode()), "global.yml")
    response = lead.post("/lexicon/import", {"file": upload})
    assert response.status_code == 400
    assert "you can only import rules of team support" in response.get_data(as_text=True)


def test_forms_without_the_csrf_token_are_refused(editor_app, browser_for) -> None:
    lead = browser_for("lead")
    lead.token = "forged"
    assert lead.post("/lexicon/rules/new", NEW_RULE).status_code == 400
    assert lead.post("/lexicon/rules/test-calm-down/team-switch", {"off": "1"}).status_code == 400


def test_sign_in_does_not_reveal_accounts_and_is_throttled(editor_app, browser_for) -> None:
    browser = browser_for(None)
    unknown = browser.sign_in("nobody@example.test", "whatever1")
    wrong = browser.sign_in(PEOPLE["lead"][0], "wrong password")
    assert unknown.status_code == wrong.status_code == 200
    message = "do not match an account"
    assert message in unknown.get_data(as_text=True) and message in wrong.get_data(as_text=True)
    for _ in range(4):
        browser.sign_in(PEOPLE["lead"][0], "wrong again")
    blocked = browser.sign_in(PEOPLE["lead"][0])  # even the right password waits now
    assert blocked.status_code == 429
    assert browser_for("trainer").get("/lexicon/").status_code == 200  # others unaffected


def test_session_cookie_is_hardened(database_url) -> None:
    from assistant import create_app

    app = create_app({"DATABASE_URL": database_url, "EMPATHY_AUTO_INIT": True})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["SESSION_COOKIE_HTTPONLY"] is True
        assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        second = create_app({"DATABASE_URL": database_url})
        assert second.config["SECRET_KEY"] == app.config["SECRET_KEY"]  # shared via database
        second.extensions["empathy"].stop()
    finally:
        app.extensions["empathy"].stop()


def test_rule_statistics_count_shown_and_feedback(editor_app, browser_for) -> None:
    seed_nudges(
        editor_app.extensions["empathy"],
        "test-inconvenience",
        ["unhelpful"] * 2 + ["applied", None],
    )
    page = browser_for("lead").get("/lexicon/?sort=unhelpful").get_data(as_text=True)
    first_row = page.split('data-rule="')[1]
    assert first_row.startswith("test-inconvenience")
    assert '<span>4</span> · <span>1</span> · <span>0</span> · <span class="bad">2</span>' in (
        first_row
    )


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "EMPATHY_DEMO": "0"}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "server", "rules", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_add_list_disable_export_import(editor_app, database_url, tmp_path) -> None:
    added = run_cli(
        database_url,
        "add",
        "--phrase",
        "(it is|that's) not my (job|problem)",
        "--question",
        "3",
        "--message",
        "Ownership is empathy.",
        "--suggestion",
        "Let me find out who can fix this for you.",
        "--team",
        "support",
    )
    assert added.returncode == 0, added.stderr
    assert "it-is-that-s-not-my-job-problem" in flagged(editor_app, "That's not my problem.")
    listing = run_cli(database_url, "list").stdout
    assert "it-is-that-s-not-my-job-problem@support" in listing and "test-calm-down" in listing
    assert run_cli(database_url, "disable", "test-calm-down").returncode == 0
    assert "test-calm-down" not in flagged(editor_app, "Please calm down.")
    exported = tmp_path / "all.yml"
    assert run_cli(database_url, "export", str(exported)).returncode == 0
    entries = yaml.safe_load(exported.read_text())["rules"]
    calm = next(e for e in entries if e["id"] == "test-calm-down")
    assert calm["enabled"] is False
    calm.pop("enabled")
    exported.write_text(yaml.safe_dump({"rules": [calm]}))
    imported = run_cli(database_url, "import", str(exported))
    assert imported.returncode == 0 and "1 changed" in imported.stdout
    assert "test-calm-down" in flagged(editor_app, "Please calm down.")
    broken = run_cli(database_url, "add", "--phrase", "x)", "--question", "2", "--message", "m",
                     "--suggestion", "s")  # fmt: skip
    assert broken.returncode != 0 and "rule not saved" in broken.stderr


def test_try_it_counts_recent_messages_of_the_readers_team_only(editor_app, browser_for) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from assistant.storage.accounts import get_or_create_team
    from assistant.storage.models import Conversation, Message

    with editor_app.extensions["empathy"].sessions.begin() as session:
        for team, text in [("support", "As per my last email, done."), ("billing", "As per my "
                           "last email, paid."), ("support", "All sorted now.")]:  # fmt: skip
            team_id = get_or_create_team(session, team).id
            conversation = session.scalar(
                select(Conversation).where(Conversation.external_id == f"try-{team}")
            ) or Conversation(team_id=team_id, external_id=f"try-{team}")
            session.add(conversation)
            session.flush()
            session.add(Message(conversation_id=conversation.id, client_id=text[:12] + team,
                                author="agent", text=text, sent_at=datetime.now(UTC)))  # fmt: skip
    global_rule = {**NEW_RULE, "team": ""}
    lead = browser_for("lead").post("/lexicon/try", global_rule).get_json()
    assert lead["recent"]["checked"] == 2 and lead["recent"]["flagged"] == 1
    admin = browser_for("admin").post("/lexicon/try", global_rule).get_json()
    assert admin["recent"]["checked"] == 3 and admin["recent"]["flagged"] == 2
