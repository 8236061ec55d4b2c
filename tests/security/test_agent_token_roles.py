"""An agent's extension token opens only an agent's pages: never the pages of the role the
account has now (a promoted agent), and audit entries name an account without an e-mail."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from assistant.auth import actor_of
from assistant.auth.roles import SignedIn
from assistant.storage import accounts
from assistant.storage.models import User


def _agent_with_token(app: Any, name: str) -> str:
    with app.extensions["empathy"].sessions.begin() as session:
        user = accounts.create_agent(session, name, "support")
        return accounts.mint_token(session, user)


def _set_role(app: Any, name: str, role: str, password_hash: str | None = None) -> None:
    with app.extensions["empathy"].sessions.begin() as session:
        user = session.scalar(select(User).where(User.name == name))
        user.role = role
        if password_hash:
            user.password_hash = password_hash


def test_a_promoted_agents_token_does_not_sign_in(editor_app, browser_for) -> None:
    token = _agent_with_token(editor_app, "pat")
    _set_role(editor_app, "pat", "admin")
    browser = browser_for(None)
    page = browser.post("/login/token", {"token": token})
    assert page.status_code == 200 and "not a valid agent token" in page.get_data(as_text=True)
    assert browser.get("/admin/users").status_code == 302  # still signed out


def test_a_token_session_ends_when_the_agent_is_promoted(editor_app, browser_for) -> None:
    token = _agent_with_token(editor_app, "pat")
    browser = browser_for(None)
    assert browser.post("/login/token", {"token": token}).status_code == 302
    assert browser.get("/me").status_code == 200
    # Promoted, and given a password: the token's session still must not become an admin's.
    _set_role(editor_app, "pat", "admin", password_hash="pbkdf2:sha256:1$x$y")
    assert browser.get("/admin/users").status_code == 302
    assert browser.get("/me").status_code == 302


def test_audit_actor_of_an_account_without_an_e_mail() -> None:
    assert actor_of(SignedIn(7, "", "agent", "support")) == "user:7"
    assert actor_of(SignedIn(8, None, "agent", None)) == "user:8"  # type: ignore[arg-type]
    assert actor_of(SignedIn(9, "a@b.test", "admin", None)) == "a@b.test"
