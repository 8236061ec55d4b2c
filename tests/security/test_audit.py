"""The audit log: every administrative action, from the web pages and from the CLI, leaves one
row (who, what, on what) and never a secret; /admin/audit shows them to admins only, newest
first, a page at a time."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from assistant.storage import audit
from assistant.storage.models import AuditEvent

from .conftest import PASSWORD, TEST_LEXICONS

RULE_FILE = """\
- id: audit-test-rule
  patterns: ["no can do"]
  category: custom
  question: 3
  message: A flat no closes the door.
  suggestions: ["Here's what I can do instead{, name}: …"]
  examples:
    flags: ["Sorry, no can do."]
    passes: ["Thanks for your message, I'm looking into it now."]
"""


def events(app: Any) -> list[AuditEvent]:
    with app.extensions["empathy"].sessions() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [row for row in rows if not row.action.startswith("seed.")]


def test_admin_pages_record_who_did_what(editor_app, browser_for) -> None:
    admin = browser_for("admin")
    new_user = {"email": "new.lead@example.test", "role": "lead", "team": "support"}
    assert admin.post("/admin/users", {**new_user, "password": PASSWORD}).status_code == 302
    with editor_app.extensions["empathy"].sessions() as session:
        from assistant.storage.models import User

        user_id = session.scalar(select(User.id).where(User.email == new_user["email"]))
    assert (
        admin.post(f"/admin/users/{user_id}", {"role": "trainer", "team": "billing"}).status_code
        == 302
    )
    assert (
        admin.post(f"/admin/users/{user_id}", {"role": "trainer", "team": "billing"}).status_code
        == 302
    )
    assert admin.post("/admin/teams", {"name": "night shift"}).status_code == 302
    assert admin.post("/admin/teams", {"name": "night shift"}).status_code == 302  # exists
    upload = {"file": (io.BytesIO(RULE_FILE.encode()), "mine.yml")}
    response = admin.post("/lexicon/import", upload, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:300]

    rows = [(e.actor, e.action, e.target) for e in events(editor_app)]
    who = "admin@example.test"
    assert rows == [
        (who, "user.create", "new.lead@example.test"),
        (who, "user.update", "new.lead@example.test"),  # the unchanged second save: no row
        (who, "team.create", "night shift"),  # the existing team: no row
        (who, "lexicon.import", "mine.yml"),
    ]
    logged = events(editor_app)
    assert logged[1].details == {
        "before": {"role": "lead", "team": "support"},
        "after": {"role": "trainer", "team": "billing"},
    }
    assert logged[3].details == {"file": "mine.yml", "added": 1, "changed": 0}
    assert all(e.actor_id is not None for e in logged)
    assert PASSWORD not in repr([e.details for e in logged])


def test_cli_actions_are_recorded_without_secrets(editor_app, tmp_path: Path) -> None:
    cli = editor_app.test_cli_runner()

    def run(*args: str, **kwargs: Any) -> str:
        result = cli.invoke(args=list(args), catch_exceptions=False, **kwargs)
        assert result.exit_code == 0, result.output
        return result.output

    token = run("agents", "create", "Sam", "--team", "support").strip().splitlines()[-1]
    secret = token.split("_", 2)[2]
    run(
        "users",
        "create",
        "cli.trainer@example.test",
        "--role",
        "trainer",
        input=f"{PASSWORD}\n" * 2,
    )
    run("teams", "set-wait", "support", "90")
    run("users", "set-password", "CLI.Trainer@example.test", input="a new password\n" * 2)
    run("tokens", "revoke", token)  # the whole token given: only its prefix is logged
    other = run("agents", "create", "Kim").strip().splitlines()[-1]
    run("tokens", "revoke", "--agent", "Kim")
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(RULE_FILE)
    run("rules", "import", str(rule_file))
    run("lexicons", "import", str(TEST_LEXICONS), "--replace-all")
    failed = cli.invoke(args=["tokens", "revoke", "ee_00000000_nothing"])
    assert failed.exit_code != 0  # nothing revoked: nothing recorded
    nobody = cli.invoke(args=["users", "set-password", "nobody@x.test"], input="p4ssword!\n" * 2)
    assert nobody.exit_code != 0 and "no user" in nobody.output

    from werkzeug.security import check_password_hash

    from assistant.storage.models import User

    with editor_app.extensions["empathy"].sessions() as session:
        user = session.scalar(select(User).where(User.email == "cli.trainer@example.test"))
        assert check_password_hash(user.password_hash, "a new password")

    logged = events(editor_app)
    prefix = token.split("_")[1]
    assert [(e.actor, e.action, e.target) for e in logged] == [
        ("cli", "agent.create", "Sam"),
        ("cli", "user.create", "cli.trainer@example.test"),
        ("cli", "team.set-wait", "support"),
        ("cli", "user.password-reset", "cli.trainer@example.test"),
        ("cli", "token.revoke", f"token {prefix}"),
        ("cli", "agent.create", "Kim"),
        ("cli", "token.revoke", "agent Kim"),
        ("cli", "lexicon.import", str(rule_file)),
        ("cli", "lexicon.replace-all", "lexicons"),
    ]
    assert logged[0].details == {"team": "support", "token": prefix}
    assert logged[2].details == {"from": 60.0, "to": 90.0}
    assert logged[3].details is None
    assert logged[6].details == {"count": 1}
    everything = repr([(e.target, e.details) for e in logged])
    for leaked in (secret, token, other, other.split("_", 2)[2], PASSWORD, "a new password"):
        assert leaked not in everything


def test_audit_page_is_for_admins_newest_first_and_paginated(editor_app, browser_for) -> None:
    with editor_app.extensions["empathy"].sessions.begin() as session:
        for n in range(120):
            audit.record(session, "team.create", f"team-{n:03}", details={"n": n})
        audit.record(session, "user.create", "<script>window.pwned=1</script>@x.test")
    admin = browser_for("admin")
    first = admin.get("/admin/audit").get_data(as_text=True)
    targets = re.findall(r"team-(\d{3})", first)
    assert targets[:3] == ["119", "118", "117"] and len(targets) == 49  # 50 a page, 1 above
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in first
    assert "<script>window.pwned" not in first
    assert "Page 1 of 3" in first and 'rel="next"' in first
    third = admin.get("/admin/audit?page=3").get_data(as_text=True)
    assert re.findall(r"team-(\d{3})", third) == [f"{n:03}" for n in range(20, -1, -1)]
    assert 'rel="next"' not in third
    assert "Page 3 of 3" in admin.get("/admin/audit?page=99").get_data(as_text=True)
    assert admin.get("/admin/audit?page=" + "9" * 30).status_code == 200  # no OFFSET overflow
    assert admin.get("/admin/audit?page=-4").status_code == 200
    assert admin.get("/admin/audit?page=abc").status_code == 200
    for who in ("lead", "trainer"):
        assert browser_for(who).get("/admin/audit").status_code == 403
    assert browser_for(None).get("/admin/audit").status_code == 302  # to the sign-in page
