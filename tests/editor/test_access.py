"""The access matrix: every route of the app, every role. A new route without a row here fails
`test_every_route_is_in_the_matrix`, so nobody can add a page without deciding who may use it."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PEOPLE, TEAM_RULE

ROLES = ("anonymous", *PEOPLE)
EVERYONE = set(ROLES)
SIGNED_IN = set(PEOPLE)
READERS = {"trainer", "lead", "other-lead", "admin"}
EDITORS = {"lead", "other-lead", "admin"}
SUPPORT_EDITORS = {"lead", "admin"}  # team support's own rules
SUPPORT_READERS = {"trainer", "lead", "admin"}
ADMINS = {"admin"}
TEAM_KEY = f"{TEAM_RULE['id']}@support"
SPARE_KEY = "team-spare@support"  # deleted by the matrix

# (endpoint, method, url, form data, who is let in). Order matters only for the delete and
# the sign-out (last).
MATRIX: list[tuple[str, str, str, dict[str, str], set[str]]] = [
    ("live.websocket", "GET", "/ws", {}, EVERYONE),
    ("web.static", "GET", "/static/editor.css", {}, EVERYONE),
    ("web.index", "GET", "/", {}, EVERYONE),
    ("web.healthz", "GET", "/healthz", {}, EVERYONE),
    ("web.demo", "GET", "/demo", {}, EVERYONE),
    ("web.shared_ui", "GET", "/ui/nudges.js", {}, EVERYONE),
    ("auth.login", "GET", "/login", {}, EVERYONE),
    ("auth.login", "POST", "/login", {"email": "x@y.z", "password": "wrong"}, EVERYONE),
    ("editor.rules_page", "GET", "/lexicon/", {}, READERS),
    ("editor.new_rule", "GET", "/lexicon/rules/new", {}, EDITORS),
    ("editor.new_rule", "POST", "/lexicon/rules/new", {}, EDITORS),
    ("editor.edit_rule", "GET", "/lexicon/rules/test-calm-down", {}, READERS),
    ("editor.edit_rule", "GET", f"/lexicon/rules/{TEAM_KEY}", {}, SUPPORT_READERS),
    ("editor.edit_rule", "POST", "/lexicon/rules/test-calm-down", {}, ADMINS),
    ("editor.edit_rule", "POST", f"/lexicon/rules/{TEAM_KEY}", {}, SUPPORT_EDITORS),
    ("editor.toggle_rule", "POST", "/lexicon/rules/test-calm-down/enabled", {}, ADMINS),
    ("editor.toggle_rule", "POST", f"/lexicon/rules/{TEAM_KEY}/enabled", {}, SUPPORT_EDITORS),
    (
        "editor.team_switch",
        "POST",
        "/lexicon/rules/test-inconvenience/team-switch",
        {"team": "support", "off": "1"},
        SUPPORT_EDITORS,
    ),
    ("editor.try_it", "POST", "/lexicon/try", {"rule_id": "x", "patterns": "hi"}, READERS),
    ("editor.history", "GET", "/lexicon/history", {}, READERS),
    ("editor.rule_history", "GET", f"/lexicon/rules/{TEAM_KEY}/history", {}, READERS),
    ("editor.revert", "POST", "/lexicon/revisions/{revision}/revert", {}, SUPPORT_EDITORS),
    ("editor.empowerment", "GET", "/lexicon/empowerment", {}, READERS),
    ("editor.empowerment", "POST", "/lexicon/empowerment", {}, EDITORS),
    ("editor.export", "GET", "/lexicon/export", {}, READERS),
    ("editor.export", "GET", "/lexicon/export?team=support", {}, SUPPORT_READERS),
    ("editor.import_page", "GET", "/lexicon/import", {}, EDITORS),
    ("editor.import_page", "POST", "/lexicon/import", {}, EDITORS),
    ("admin.users", "GET", "/admin/users", {}, ADMINS),
    ("admin.users", "POST", "/admin/users", {}, ADMINS),
    ("admin.update_user", "POST", "/admin/users/{user}", {"role": "lead"}, ADMINS),
    ("admin.teams", "GET", "/admin/teams", {}, ADMINS),
    ("admin.teams", "POST", "/admin/teams", {}, ADMINS),
    ("admin.audit_log", "GET", "/admin/audit", {}, ADMINS),
    ("editor.delete_rule", "POST", f"/lexicon/rules/{SPARE_KEY}/delete", {}, SUPPORT_EDITORS),
    # Trainers' pages (their own matrix, with real conversations: tests/trainers/test_access.py)
    ("trainers.transcripts", "GET", "/transcripts", {}, READERS),
    ("trainers.replay", "GET", "/transcripts/0", {}, SIGNED_IN),
    ("trainers.add_note", "POST", "/transcripts/0/messages/0/notes", {}, READERS),
    ("trainers.delete_note", "POST", "/notes/0/delete", {}, READERS),
    ("trainers.add_peer_example", "POST", "/transcripts/0/messages/0/peer-example", {}, READERS),
    ("trainers.peer_examples", "GET", "/peer-examples", {}, READERS),
    ("trainers.toggle_peer_example", "POST", "/peer-examples/0/active", {}, READERS),
    ("trainers.delete_peer_example", "POST", "/peer-examples/0/delete", {}, READERS),
    ("trainers.my_coaching", "GET", "/me", {}, SIGNED_IN),
    ("trainers.token_login", "GET", "/login/token", {}, EVERYONE),
    ("trainers.token_login", "POST", "/login/token", {"token": "ee_x_wrong"}, EVERYONE),
    # Dashboard (its own tests: tests/dashboard/test_dashboard.py)
    ("dashboard.team_dashboard", "GET", "/dashboard", {}, READERS),
    ("dashboard.team_dashboard", "GET", "/dashboard?team=billing", {}, {"other-lead", "admin"}),
    ("dashboard.my_dashboard", "GET", "/me/dashboard", {}, SIGNED_IN),
    ("auth.logout", "POST", "/logout", {}, SIGNED_IN),
]


def test_every_route_is_in_the_matrix(editor_app: Any) -> None:
    routes = {
        (rule.endpoint, method)
        for rule in editor_app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    covered = {(endpoint, method) for endpoint, method, *_ in MATRIX}
    assert routes - covered == set(), "routes without an access rule in MATRIX"
    assert covered - routes == set(), "MATRIX rows for routes that no longer exist"


def _ids(editor_app: Any) -> dict[str, int]:
    from sqlalchemy import select

    from assistant.editor import rules
    from assistant.storage.models import LexiconRevision, User

    with editor_app.extensions["empathy"].sessions.begin() as session:
        rules.save(session, {**TEAM_RULE, "id": "team-spare"}, rules.CLI)
        revision = session.scalar(
            select(LexiconRevision.id).where(LexiconRevision.rule_key == TEAM_KEY)
        )
        user = session.scalar(select(User.id).where(User.email == PEOPLE["trainer"][0]))
    return {"revision": revision, "user": user}


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(role: str, editor_app: Any, browser_for: Any) -> None:
    ids = _ids(editor_app)
    browser = browser_for(None if role == "anonymous" else role)
    wrong = []
    for endpoint, method, url, data, allowed in MATRIX:
        url = url.format(**ids)
        response = browser.get(url) if method == "GET" else browser.post(url, data)
        let_in = _let_in(response)
        if let_in != (role in allowed):
            wrong.append(f"{method} {url} ({endpoint}): {response.status_code}")
    assert wrong == [], f"{role}: access differs from the matrix"


def _let_in(response: Any) -> bool:
    """Refused: 403, 401, or sent to sign in first (a redirect to /login?next=...)."""
    if response.status_code in (401, 403):
        return False
    location = response.headers.get("Location", "")
    return not (response.status_code == 302 and "/login?next=" in location)
