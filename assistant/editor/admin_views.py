"""Admin pages: people who sign in (leads, trainers, admins, agents with a password) and teams."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assistant.auth import actor_of, admins_only
from assistant.storage import accounts, audit
from assistant.storage.models import ROLES, AuditEvent, Team, User

from . import admin
from .forms import TeamForm, UserForm

AUDIT_PAGE = 50


def _db():
    return current_app.extensions["empathy"].sessions


def _audit(session: Session, action: str, target: str, **details: Any) -> None:
    """Record an admin action in the same transaction as the change (never a password)."""
    audit.record(
        session,
        action,
        target,
        actor=actor_of(current_user),
        actor_id=current_user.id,
        details=details,
    )


@admin.route("/users", methods=["GET", "POST"])
@admins_only
def users():
    form = UserForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            with _db().begin() as session:
                email, team = form.email.data.strip().lower(), form.team.data.strip() or None
                accounts.create_user(session, email, form.role.data, form.password.data, team)
                _audit(session, "user.create", email, role=form.role.data, team=team)
        except ValueError as error:
            problems = [str(error)]
        else:
            flash(f"{form.email.data} can now sign in as {form.role.data}.", "success")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        problems = [f"{n}: {', '.join(e)}" for n, e in form.errors.items()]
    with _db()() as session:
        people = list(
            session.scalars(select(User).where(User.email.is_not(None)).order_by(User.email))
        )
        rows = [(u.id, u.email, u.role, u.team.name if u.team else "") for u in people]
    page = render_template(
        "editor/users.html", form=form, rows=rows, roles=ROLES, problems=problems
    )
    return page, 400 if problems else 200


@admin.post("/users/<int:user_id>")
@admins_only
def update_user(user_id: int):
    role, team = request.form.get("role", ""), request.form.get("team", "").strip()
    if role not in ROLES:
        flash("Choose a role.", "error")
        return redirect(url_for("admin.users"))
    with _db().begin() as session:
        user = session.get(User, user_id)
        if user is None:
            flash("No such user.", "error")
            return redirect(url_for("admin.users"))
        before = {"role": user.role, "team": user.team.name if user.team else None}
        user.role = role
        user.team_id = accounts.get_or_create_team(session, team).id if team else None
        after = {"role": role, "team": team or None}
        if after != before:
            _audit(session, "user.update", user.email or user.name, before=before, after=after)
    flash("Saved.", "success")
    return redirect(url_for("admin.users"))


@admin.route("/teams", methods=["GET", "POST"])
@admins_only
def teams():
    form = TeamForm()
    if form.validate_on_submit():
        name, wait = form.name.data.strip(), current_app.config["EMPATHY_WAIT_SECONDS"]
        with _db().begin() as session:
            exists = session.scalar(select(Team.id).where(Team.name == name)) is not None
            if not exists:
                accounts.get_or_create_team(session, name, wait)
                _audit(session, "team.create", name, wait_seconds=wait)
        flash(f"Team {form.name.data} is ready.", "success")
        return redirect(url_for("admin.teams"))
    with _db()() as session:
        rows = [(t.name, t.wait_seconds) for t in session.scalars(select(Team).order_by(Team.name))]
    return render_template("editor/teams.html", form=form, rows=rows)


@admin.get("/audit")
@admins_only
def audit_log():
    """Administrative actions, newest first, AUDIT_PAGE to a page."""
    with _db()() as session:
        total = session.scalar(select(func.count(AuditEvent.id))) or 0
        pages = max(1, -(-total // AUDIT_PAGE))
        # Clamped: a huge ?page= would overflow the database's OFFSET instead of showing nothing.
        page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
        events = list(
            session.scalars(
                select(AuditEvent)
                .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                .offset((page - 1) * AUDIT_PAGE)
                .limit(AUDIT_PAGE)
            )
        )
        rows = [(e.created_at, e.actor, e.action, e.target, _describe(e.details)) for e in events]
    return render_template("editor/audit.html", rows=rows, page=page, pages=pages, total=total)


def _describe(details: dict[str, Any] | None) -> str:
    """Details as "key: value" pairs (rendered as text by the template)."""
    return ", ".join(f"{key}: {value}" for key, value in (details or {}).items())
