"""Lexicon pages: browse/search, add/edit/disable/delete, try it, history and revert,
team switch-offs, the empowerment list, import and export."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.auth import actor_of, readers_only, require
from assistant.engine import QUESTIONS, LexiconError
from assistant.storage import audit
from assistant.storage.models import LexiconRevision, Team

from . import editor, rules, stats, trial
from .forms import EmpowermentForm, ImportForm, RuleForm, choices

SORTS = ("id", "unhelpful", "shown", "category")


def _db() -> Any:
    return current_app.extensions["empathy"].sessions


def _actor() -> rules.Actor:
    return rules.Actor(actor_of(current_user), current_user.id)


def _who() -> dict[str, Any]:
    return {"actor": actor_of(current_user), "actor_id": current_user.id}


def _team_choices(session: Session) -> list[tuple[str, str]]:
    """Where the signed-in person may put a rule: admins anywhere, a lead their team."""
    if current_user.is_admin:
        names = session.scalars(select(Team.name).order_by(Team.name))
        return [("", "Every team (global)")] + [(n, f"Team {n} only") for n in names]
    return [(current_user.team, f"Team {current_user.team} only")]


def _stats_team() -> str | None:
    """Statistics cover the reader's own team; admins see every team's."""
    return None if current_user.is_admin else current_user.team


# --- browse -----------------------------------------------------------------------------


@editor.get("/")
@readers_only
def rules_page():
    q = request.args.get("q", "").strip().lower()
    filters = {k: request.args.get(k, "") for k in ("category", "question", "team", "role")}
    sort = request.args.get("sort", "id") if request.args.get("sort") in SORTS else "id"
    with _db()() as session:
        everything = [
            r for r in rules.all_rules(session) if current_user.can_read_team(r.get("team"))
        ]
        off = rules.switched_off(session, current_user.team)
        week = stats.rule_stats(session, 7, _stats_team())
        month = stats.rule_stats(session, 30, _stats_team())
    shown = [r for r in everything if _matches(r, q, filters) and r.get("role") != "conversation"]
    rows = [_row(r, week, month, off) for r in shown]
    rows.sort(key=_sort_key(sort))
    return render_template(
        "editor/rules.html",
        rows=rows,
        total=sum(r.get("role") != "conversation" for r in everything),
        q=q,
        filters=filters,
        sort=sort,
        categories=sorted({r.get("category", "") for r in everything}),
        teams=sorted({r["team"] for r in everything if r.get("team")}),
        questions=QUESTIONS,
    )


def _matches(rule: dict[str, Any], q: str, filters: dict[str, str]) -> bool:
    if filters["category"] and rule.get("category") != filters["category"]:
        return False
    if filters["question"] and str(rule.get("question")) != filters["question"]:
        return False
    if filters["role"] and rule.get("role", "agent") != filters["role"]:
        return False
    team = rule.get("team") or ""
    if filters["team"] and team != ("" if filters["team"] == "global" else filters["team"]):
        return False
    if not q:
        return True
    haystack = [rule["id"], rule.get("message", ""), *rule.get("patterns", [])]
    return any(q in text.lower() for text in haystack)


def _row(rule: dict[str, Any], week: dict, month: dict, off: set[str]) -> dict[str, Any]:
    key = rules.rule_key(rule)
    return {
        "key": key,
        "rule": rule,
        "week": week.get(rule["id"], stats.empty()),
        "month": month.get(rule["id"], stats.empty()),
        "off_for_team": not rule.get("team") and rule["id"] in off,
        "can_edit": current_user.can_edit(rule.get("team")),
    }


def _sort_key(sort: str):
    if sort in ("unhelpful", "shown"):
        return lambda row: (-row["month"][sort], -row["week"][sort], row["key"])
    if sort == "category":
        return lambda row: (row["rule"].get("category", ""), row["key"])
    return lambda row: row["key"]


# --- add / edit ---------------------------------------------------------------------------


@editor.route("/rules/new", methods=["GET", "POST"])
@login_required
def new_rule():
    require("can_edit_some")
    with _db()() as session:
        form = RuleForm()
        form.team.choices = choices(_team_choices(session))
    if request.method == "GET":
        form.role.data = request.args.get("role", "agent")
    return _save_form(form, old_key=None)


@editor.route("/rules/<key>", methods=["GET", "POST"])
@login_required
def edit_rule(key: str):
    with _db()() as session:
        row = rules.get(session, key)
        if row is None:
            abort(404)
        data = row.data
        form = RuleForm()
        form.team.choices = choices(_team_choices(session) if current_user.can_edit_some() else [])
    require("can_read_team", data.get("team"))
    if request.method == "POST":
        require("can_edit", data.get("team"))
    else:
        form.fill(data)
    return _save_form(form, old_key=key, current=data)


def _save_form(form: RuleForm, old_key: str | None, current: dict | None = None):
    problems: list[str] = []
    if form.validate_on_submit():
        data = form.to_rule()
        require("can_edit", data.get("team"))
        try:
            with _db().begin() as session:
                key = rules.save(session, data, _actor(), old_key=old_key)
        except LexiconError as error:
            problems = error.problems
        else:
            flash(f"Saved {key}. Agents get it within a couple of seconds.", "success")
            return redirect(url_for("editor.edit_rule", key=key))
    elif request.method == "POST":
        problems = [f"{name}: {', '.join(errs)}" for name, errs in form.errors.items()]
    editable = current is None or current_user.can_edit(current.get("team"))
    status = 400 if problems else 200
    page = render_template(
        "editor/rule_form.html",
        form=form,
        key=old_key,
        current=current,
        problems=problems,
        editable=editable,
        history=_history(old_key) if old_key else [],
    )
    return page, status


# --- disable / delete / team switch-off ----------------------------------------------------


def _editable_rule(key: str) -> dict[str, Any]:
    with _db()() as session:
        row = rules.get(session, key)
        if row is None:
            abort(404)
        data = row.data
    require("can_edit", data.get("team"))
    return data


@editor.post("/rules/<key>/enabled")
@login_required
def toggle_rule(key: str):
    data = _editable_rule(key)
    enable = not data.get("enabled", True)
    try:
        with _db().begin() as session:
            rules.set_enabled(session, key, enable, _actor())
    except LexiconError as error:
        flash("Not changed: " + "; ".join(error.problems), "error")
    else:
        flash(f"{key} {'enabled' if enable else 'disabled'}.", "success")
    return redirect(request.referrer or url_for("editor.rules_page"))


@editor.post("/rules/<key>/delete")
@login_required
def delete_rule(key: str):
    _editable_rule(key)
    with _db().begin() as session:
        rules.delete(session, key, _actor())
    flash(f"Deleted {key}. You can restore it from the history.", "success")
    return redirect(url_for("editor.rules_page"))


@editor.post("/rules/<key>/team-switch")
@login_required
def team_switch(key: str):
    with _db()() as session:
        row = rules.get(session, key)
        if row is None or row.data.get("team"):
            abort(404)  # only global rules can be switched off for a team
    team = request.form.get("team") or current_user.team
    require("can_switch_for", team)
    off = request.form.get("off") == "1"
    try:
        with _db().begin() as session:
            rules.switch_off(session, team, key, off, _actor())
    except LookupError:
        abort(404)
    flash(f"{key} is {'off' if off else 'on'} for team {team}.", "success")
    return redirect(request.referrer or url_for("editor.rules_page"))


# --- try it -----------------------------------------------------------------------------


@editor.post("/try")
@readers_only
def try_it():
    form = RuleForm()
    form.team.choices = choices([(form.team.data, form.team.data)])  # nothing is saved
    sentences = [s for s in request.form.get("try_sentences", "").splitlines() if s.strip()]
    with _db()() as session:
        data = form.to_rule()
        require("can_read_team", data.get("team"))  # another team's messages stay private
        result = trial.try_rule(session, data, sentences[:20], _stats_team())
    return result


# --- history --------------------------------------------------------------------------------


def _history(key: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = select(LexiconRevision).order_by(LexiconRevision.id.desc()).limit(limit)
    if key:
        query = query.where(LexiconRevision.rule_key == key)
    with _db()() as session:
        revisions = list(session.scalars(query))
    visible = []
    for revision in revisions:
        team = _revision_team(revision)
        if current_user.can_read_team(team):
            visible.append(
                {
                    "revision": revision,
                    "diff": rules.diff(revision),
                    "can_revert": current_user.can_edit(team),
                }
            )
    return visible


def _revision_team(revision: LexiconRevision) -> str | None:
    state = revision.after or revision.before or {}
    return state.get("team") or state.get("off_for_team")


@editor.get("/history")
@readers_only
def history():
    return render_template("editor/history.html", entries=_history(), key=None)


@editor.get("/rules/<key>/history")
@readers_only
def rule_history(key: str):
    return render_template("editor/history.html", entries=_history(key), key=key)


@editor.post("/revisions/<int:revision_id>/revert")
@login_required
def revert(revision_id: int):
    with _db()() as session:
        revision = session.get(LexiconRevision, revision_id)
        if revision is None:
            abort(404)
        team = _revision_team(revision)
    require("can_edit", team)
    try:
        with _db().begin() as session:
            key = rules.revert(session, revision_id, _actor())
    except (LexiconError, LookupError) as error:
        flash(f"Not reverted: {error}", "error")
        return redirect(url_for("editor.history"))
    flash(f"Reverted {key} to how it was before revision {revision_id}.", "success")
    return redirect(url_for("editor.rule_history", key=key))


# --- empowerment --------------------------------------------------------------------------


@editor.route("/empowerment", methods=["GET", "POST"])
@readers_only
def empowerment():
    with _db()() as session:
        form = EmpowermentForm()
        form.team.choices = choices([(t, t) for t, _ in _team_choices(session) if t])
        offers = [
            r
            for r in rules.all_rules(session)
            if r.get("role") == "empowerment" and current_user.can_read_team(r.get("team"))
        ]
    problems: list[str] = []
    if request.method == "POST":
        require("can_edit_some")
        if form.validate_on_submit():
            problems = _add_offer(form)
            if not problems:
                return redirect(url_for("editor.empowerment"))
        else:
            problems = [f"{n}: {', '.join(e)}" for n, e in form.errors.items()]
    page = render_template("editor/empowerment.html", form=form, offers=offers, problems=problems)
    return page, 400 if problems else 200


def _add_offer(form: EmpowermentForm) -> list[str]:
    team = form.team.data
    require("can_edit", team)
    situations = [s.strip() for s in (form.situations.data or "").splitlines() if s.strip()]
    data: dict[str, Any] = {
        "id": rules.new_id(form.offer.data),
        "role": "empowerment",
        "team": team,
        "category": "empowerment",
        "question": 3,
        "message": form.offer.data.strip(),
        "suggestions": [],
    }
    if situations:
        data["patterns"] = situations
    try:
        with _db().begin() as session:
            rules.save(session, data, _actor())
    except LexiconError as error:
        return error.problems
    flash(f"Team {team} agents will see: “{data['message']}”.", "success")
    return []


# --- import / export ------------------------------------------------------------------------


@editor.get("/export")
@readers_only
def export():
    team = request.args.get("team") or None
    if team:
        require("can_read_team", team)
    with _db()() as session:
        if team:
            text = rules.export_text(session, team, everything=False)
        elif current_user.is_admin:
            text = rules.export_text(session)
        else:  # global rules plus the reader's own team's
            data = [
                r for r in rules.all_rules(session) if current_user.can_read_team(r.get("team"))
            ]
            text = rules.dump_data(data)
    name = f"lexicon-{team or 'all'}.yml"
    return Response(
        text,
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@editor.route("/import", methods=["GET", "POST"])
@login_required
def import_page():
    require("can_edit_some")
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        text = upload.read().decode("utf-8", errors="replace")
        team = None if current_user.is_admin else current_user.team
        try:
            with _db().begin() as session:
                added, changed = rules.import_text(session, text, upload.filename, _actor(), team)
                details = {"file": upload.filename, "added": added, "changed": changed}
                audit.record(
                    session, "lexicon.import", upload.filename or "", **_who(), details=details
                )
        except LexiconError as error:
            problems = error.problems
        else:
            flash(f"Imported: {added} new, {changed} changed.", "success")
            return redirect(url_for("editor.rules_page"))
    elif request.method == "POST":
        problems = ["Choose a lexicon file to import."]
    page = render_template("editor/import.html", form=form, problems=problems)
    return page, 400 if problems else 200
