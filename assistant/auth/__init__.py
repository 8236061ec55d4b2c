"""Web sign-in for leads, trainers and admins: Flask-Login sessions, werkzeug password hashes,
CSRF on every form (Flask-WTF), hardened cookies, throttled sign-in, no user enumeration."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, url_for
from flask import session as flask_session
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import CSRFProtect
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.security import check_password_hash, generate_password_hash

from assistant.storage.models import AgentToken, AppSecret, User

from . import throttle
from .forms import LoginForm
from .roles import SignedIn

log = logging.getLogger(__name__)

auth = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()
# Checked when the e-mail is unknown, so both answers take as long (no user enumeration).
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))
WRONG = "That e-mail and password do not match an account that can sign in here."
THROTTLED = "Too many failed sign-ins. Wait a few minutes and try again."


def init_auth(app: Flask) -> None:
    """Sessions, CSRF and cookie settings for the web pages (the /ws endpoint uses tokens)."""
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = shared_secret(app)
    secure = app.config.get("EMPATHY_SECURE_COOKIES")
    if secure is None:
        secure = not app.config["EMPATHY_DEMO"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    app.register_blueprint(auth)


def shared_secret(app: Flask) -> str:
    """The session signing key stored in the database (created by the first process)."""
    sessions = app.extensions["empathy"].sessions
    try:
        with sessions.begin() as session:
            row = session.get(AppSecret, "session-key")
            if row is None:
                row = AppSecret(name="session-key", value=secrets.token_hex(32))
                session.add(row)
            return row.value
    except IntegrityError:  # another process created it at the same moment
        with sessions() as session:
            return session.get(AppSecret, "session-key").value
    except SQLAlchemyError:
        log.warning("no shared session key (database not ready); sessions are per process")
        return secrets.token_hex(32)


@login_manager.user_loader
def load_user(user_id: str) -> SignedIn | None:
    with current_app.extensions["empathy"].sessions() as session:
        user = session.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None:
            return None
        # A session opened with a token is held to the token (and to the agent role) even if
        # the account also has a password: promoting the agent must not promote the token.
        if "agent_token_id" in flask_session:
            return signed_in(user) if _token_session(session, user) else None
        return signed_in(user) if user.password_hash else None


def _token_session(session: Any, user: User) -> bool:
    """An agent signed in with a token (/login/token) stays signed in while it is unrevoked
    and the account is still an agent's."""
    token_id = flask_session.get("agent_token_id")
    token = session.get(AgentToken, token_id) if isinstance(token_id, int) else None
    return (
        token is not None
        and token.user_id == user.id
        and token.revoked_at is None
        and user.role == "agent"
    )


def actor_of(user: Any) -> str:
    """The audit label of a signed-in person: their e-mail, or "user:<id>" for an account
    without one (agents signed in with a token)."""
    return user.email or f"user:{user.id}"


def signed_in(user: User) -> SignedIn:
    return SignedIn(user.id, user.email or "", user.role, user.team.name if user.team else None)


def require(check: str, *args: Any) -> None:
    """403 unless the signed-in person passes SignedIn.<check>(*args)."""
    if not getattr(current_user, check)(*args):
        abort(403)


def readers_only(view):
    """Signed in, and allowed to read the lexicon (admin, lead, trainer)."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any):
        require("can_read")
        return view(*args, **kwargs)

    return wrapped


def admins_only(view):
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@auth.route("/login", methods=["GET", "POST"])
def login():
    from flask import render_template

    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user, status = _authenticate(form.email.data, form.password.data)
        if user is not None:
            flask_session.pop("agent_token_id", None)  # a password session, not a token's
            login_user(user)
            home = "trainers.my_coaching" if user.role == "agent" else "editor.rules_page"
            return redirect(_safe_next() or url_for(home))
        flash(THROTTLED if status == 429 else WRONG, "error")
        status = 429 if status == 429 else 200  # a form page, not an HTTP auth challenge
    elif request.method == "POST":
        status = 400
    return render_template("editor/login.html", form=form), status


def _authenticate(email: str, password: str) -> tuple[SignedIn | None, int]:
    address = request.remote_addr or "?"
    email = email.strip().lower()
    with current_app.extensions["empathy"].sessions.begin() as session:
        if throttle.blocked(session, email, address):
            return None, 429
        user = session.scalar(select(User).where(func.lower(User.email) == email))
        stored = user.password_hash if user is not None and user.password_hash else None
        ok = check_password_hash(stored or _DUMMY_HASH, password) and stored is not None
        if not ok:
            throttle.record_failure(session, email, address)
            return None, 401
        throttle.clear(session, email)
        return signed_in(user), 200


def _safe_next() -> str | None:
    """Only a path on this site (never an open redirect to another host)."""
    target = request.args.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@auth.post("/logout")
@login_required
def logout():
    logout_user()
    flask_session.pop("agent_token_id", None)
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
