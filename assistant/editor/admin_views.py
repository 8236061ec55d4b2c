"""Admin pages: people who sign in (leads, trainers, admins, agents with a password) and teams."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from assistant.auth import admins_only
from assistant.storage import accounts
from assistant.storage.models import ROLES, Team, User

from . import admin
from .forms import TeamForm, UserForm


def _db():
    return current_app.extensions["empathy"].sessions


@admin.route("/users", methods=["GET", "POST"])
@admins_only
def users():
    form = UserForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            with _db().begin() as session:
                accounts.create_user(
                    session,
                    form.email.data.strip().lower(),
                    form.role.data,
                    form.password.data,
                    form.team.data.strip() or None,
                )
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
        user.role = role
        user.team_id = accounts.get_or_create_team(session, team).id if team else None
    flash("Saved.", "success")
    return redirect(url_for("admin.users"))


@admin.route("/teams", methods=["GET", "POST"])
@admins_only
def teams():
    form = TeamForm()
    if form.validate_on_submit():
        with _db().begin() as session:
            accounts.get_or_create_team(
                session, form.name.data.strip(), current_app.config["EMPATHY_WAIT_SECONDS"]
            )
        flash(f"Team {form.name.data} is ready.", "success")
        return redirect(url_for("admin.teams"))
    with _db()() as session:
        rows = [(t.name, t.wait_seconds) for t in session.scalars(select(Team).order_by(Team.name))]
    return render_template("editor/teams.html", form=form, rows=rows)
