"""Routes: /transcripts (list, replay, notes, peer examples), /peer-examples, /me and
/login/token. Who may see what is decided in one place (`_scope`): admins and trainers without
a team see every team, trainers and leads with a team see theirs, agents only their own."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.auth import actor_of, signed_in, throttle
from assistant.editor import rules
from assistant.engine import QUESTIONS
from assistant.storage import accounts, audit
from assistant.storage.models import CoachingNote, Conversation, PeerExample, Team, User
from assistant.storage.redact import redact

from . import queries, trainers
from .forms import TokenLoginForm
from .queries import Scope

NOTE_LIMIT = 4000
EXAMPLE_LIMIT = 1000
COACHES = ("admin", "trainer", "lead")


def _db() -> Any:
    return current_app.extensions["empathy"].sessions


def _team_id(db: Session, name: str | None) -> int | None:
    return db.scalar(select(Team.id).where(Team.name == name)) if name else None


def _scope(db: Session) -> Scope | None:
    """The conversations the signed-in person may read (None: none of the trainers' pages)."""
    reach = current_user.reach()
    if reach == "all":
        return Scope()
    if reach == "team":
        return Scope(team_id=_team_id(db, current_user.team) or -1)
    if reach == "own":
        return Scope(agent_id=current_user.id)
    return None


def _coach_scope(db: Session) -> Scope:
    """Scope for coaching pages (list, notes, examples): 403 for agents and team-less leads."""
    scope = _scope(db)
    if scope is None or current_user.role not in COACHES:
        abort(403)
    return scope


def _actor() -> dict[str, Any]:
    return {"actor": actor_of(current_user), "actor_id": current_user.id}


def _author_name(db: Session) -> str:
    user = db.get(User, current_user.id)
    return (user.name if user else "") or current_user.email or "trainer"


# --- list ---------------------------------------------------------------------------------


@trainers.get("/transcripts")
@login_required
def transcripts():
    filters = queries.Filters.parse(request.args)
    with _db()() as db:
        scope = _coach_scope(db)
        after = request.args.get("after", "")
        rows, following = queries.flagged_page(db, scope, filters, after, queries.PAGE_SIZE)
        options = queries.choices(db, scope)
        # Rule suggestions from the lexicon (a DISTINCT over every stored nudge would cost more
        # than the page itself at 100,000 conversations).
        options["rules"] = sorted(
            {
                r["id"]
                for r in rules.all_rules(db)
                if r.get("role", "agent") == "agent" and current_user.can_read_team(r.get("team"))
            }
        )
    next_args = {**filters.as_args(), "after": following} if following else None
    page = render_template(
        "trainers/list.html",
        rows=rows,
        filters=filters,
        options=options,
        next_args=next_args,
        first_page=bool(request.args.get("after")),
        questions=QUESTIONS,
        outcomes=queries.OUTCOMES,
        severities=queries.SEVERITIES,
        all_teams=scope.team_id is None,
        problems=filters.problems,
    )
    return page, 400 if filters.problems else 200


# --- replay -------------------------------------------------------------------------------


@trainers.get("/transcripts/<int:conversation_id>")
@login_required
def replay(conversation_id: int):
    with _db()() as db:
        scope = _scope(db)
        found = queries.conversation_in_scope(db, scope, conversation_id) if scope else None
        if found is None:
            abort(404)  # never say whether another team's or agent's conversation exists
        items = queries.replay_items(db, conversation_id)
        coach = current_user.role in COACHES
        flagged = {n["rule"] for i in items for n in [*i["nudges"], *i.get("findings", [])]}
        targets = _example_targets(db, found.team, flagged) if coach else []
    return render_template(
        "trainers/replay.html",
        conversation=found.Conversation,
        team=found.team,
        agent=found.agent or found.Conversation.agent_name or "—",
        items=items,
        coach=coach,
        targets=targets,
        questions=QUESTIONS,
    )


def _example_targets(db: Session, team: str, flagged: set[str]) -> list[tuple[str, str]]:
    """What a peer example can illustrate: the rules flagged in this conversation first, then
    a checklist question, then any other agent rule the team has."""
    questions = [(f"question:{n}", f"Question {n}: {text}") for n, text in QUESTIONS.items()]
    others = {
        r["id"]
        for r in rules.all_rules(db)
        if r.get("role", "agent") == "agent" and r.get("team") in (None, team)
    } - flagged
    first = [(f"rule:{rule}", f"Rule {rule} (flagged here)") for rule in sorted(flagged)]
    return first + questions + [(f"rule:{rule}", f"Rule {rule}") for rule in sorted(others)]


# --- coaching notes -------------------------------------------------------------------------


@trainers.post("/transcripts/<int:conversation_id>/messages/<int:message_id>/notes")
@login_required
def add_note(conversation_id: int, message_id: int):
    body = request.form.get("body", "").strip()
    back = url_for("trainers.replay", conversation_id=conversation_id) + f"#m{message_id}"
    with _db().begin() as db:
        message = _coachable_message(db, conversation_id, message_id)
        if not body or len(body) > NOTE_LIMIT:
            flash(f"A note needs some text (at most {NOTE_LIMIT} characters).", "error")
            return redirect(back)
        note = CoachingNote(
            conversation_id=conversation_id,
            message_id=message.id,
            author_id=current_user.id,
            author_name=_author_name(db),
            body=redact(body),  # stored text never keeps personal data (as messages)
        )
        db.add(note)
        db.flush()
        audit.record(db, "note.create", f"conversation {conversation_id}", **_actor())
        has_agent = db.get(Conversation, conversation_id).agent_id is not None
    flash(
        "Note saved. The agent sees it on their “My coaching” page."
        if has_agent  # imported conversations may name an agent who has no account here
        else "Note saved. No agent account is linked to this conversation, so no agent sees it.",
        "success",
    )
    return redirect(back)


@trainers.post("/notes/<int:note_id>/delete")
@login_required
def delete_note(note_id: int):
    with _db().begin() as db:
        _coach_scope(db)  # 403 for agents before saying whether the note exists
        note = db.get(CoachingNote, note_id)
        if note is None:
            abort(404)
        _coachable_message(db, note.conversation_id, note.message_id)
        if note.author_id != current_user.id and not current_user.is_admin:
            abort(403)  # a trainer's words are theirs to withdraw
        conversation_id = note.conversation_id
        db.delete(note)
        audit.record(db, "note.delete", f"conversation {conversation_id}", **_actor())
    flash("Note deleted.", "success")
    return redirect(url_for("trainers.replay", conversation_id=conversation_id))


def _coachable_message(db: Session, conversation_id: int, message_id: int) -> Any:
    """The message, if the signed-in coach may see its conversation (403 / 404 otherwise)."""
    scope = _coach_scope(db)
    if queries.conversation_in_scope(db, scope, conversation_id) is None:
        abort(404)
    message = queries.message_in_conversation(db, conversation_id, message_id)
    if message is None:
        abort(404)
    return message


# --- peer examples --------------------------------------------------------------------------


@trainers.post("/transcripts/<int:conversation_id>/messages/<int:message_id>/peer-example")
@login_required
def add_peer_example(conversation_id: int, message_id: int):
    text = request.form.get("text", "").strip()
    target = request.form.get("target", "")
    back = url_for("trainers.replay", conversation_id=conversation_id) + f"#m{message_id}"
    with _db().begin() as db:
        message = _coachable_message(db, conversation_id, message_id)
        if message.author != "agent":
            abort(400, "Only an agent's reply can be a peer example.")
        rule, question = _parse_target(target)
        if (rule is None and question is None) or not text or len(text) > EXAMPLE_LIMIT:
            flash(
                f"Choose a rule or question and keep some text (at most {EXAMPLE_LIMIT} "
                "characters).",
                "error",
            )
            return redirect(back)
        team_id = db.get(Conversation, conversation_id).team_id
        example = PeerExample(
            team_id=team_id,
            rule=rule,
            question=question,
            text=redact(text),  # shown to the whole team: no customer's card or address
            message_id=message.id,
            created_by=current_user.id,
        )
        db.add(example)
        db.flush()
        details = {"rule": rule, "question": question, "team_id": team_id}
        audit.record(
            db, "peer_example.create", f"example {example.id}", details=details, **_actor()
        )
    flash("Saved as a peer example for the team.", "success")
    return redirect(back)


def _parse_target(target: str) -> tuple[str | None, int | None]:
    kind, _, value = target.partition(":")
    if kind == "question" and value in {"1", "2", "3", "4", "5"}:
        return None, int(value)
    if kind == "rule" and 0 < len(value) <= 100:
        return value, None
    return None, None


@trainers.get("/peer-examples")
@login_required
def peer_examples():
    with _db()() as db:
        scope = _coach_scope(db)
        query = (
            select(PeerExample, Team.name)
            .join(Team, Team.id == PeerExample.team_id)
            .order_by(Team.name, PeerExample.active.desc(), PeerExample.created_at.desc())
        )
        if scope.team_id is not None:
            query = query.where(PeerExample.team_id == scope.team_id)
        rows = db.execute(query).all()
    return render_template("trainers/peer_examples.html", rows=rows, questions=QUESTIONS)


@trainers.post("/peer-examples/<int:example_id>/active")
@login_required
def toggle_peer_example(example_id: int):
    with _db().begin() as db:
        example = _team_example(db, example_id)
        example.active = request.form.get("active") == "1"
        action = "peer_example.activate" if example.active else "peer_example.deactivate"
        audit.record(db, action, f"example {example_id}", **_actor())
    flash("Example shown to agents." if example.active else "Example no longer shown.", "success")
    return redirect(url_for("trainers.peer_examples"))


@trainers.post("/peer-examples/<int:example_id>/delete")
@login_required
def delete_peer_example(example_id: int):
    with _db().begin() as db:
        example = _team_example(db, example_id)
        details = {"rule": example.rule, "question": example.question, "team_id": example.team_id}
        db.delete(example)
        audit.record(
            db, "peer_example.delete", f"example {example_id}", details=details, **_actor()
        )
    flash("Example deleted.", "success")
    return redirect(url_for("trainers.peer_examples"))


def _team_example(db: Session, example_id: int) -> PeerExample:
    """An example of a team the coach may see: examples belong to the team, so any of its
    coaches may hide or delete one, not only whoever saved it (404 otherwise)."""
    scope = _coach_scope(db)
    example = db.get(PeerExample, example_id)
    if example is None or scope.team_id not in (None, example.team_id):
        abort(404)
    return example


# --- agents: my coaching, sign-in by token --------------------------------------------------


@trainers.get("/me")
@login_required
def my_coaching():
    with _db()() as db:
        entries = queries.my_notes(db, current_user.id)
    return render_template("trainers/me.html", entries=entries)


@trainers.route("/login/token", methods=["GET", "POST"])
def token_login():
    form = TokenLoginForm()
    status = 200
    if form.validate_on_submit():
        user, token_id, status = _authenticate_token(form.token.data.strip())
        if user is not None:
            login_user(user)
            session["agent_token_id"] = token_id  # checked on every request (revocation)
            return redirect(url_for("trainers.my_coaching"))
        flash(
            "Too many failed sign-ins. Wait a few minutes and try again."
            if status == 429
            else "That token is not a valid agent token.",
            "error",
        )
        status = 429 if status == 429 else 200  # a form page, not an HTTP auth challenge
    elif request.method == "POST":
        status = 400
    return render_template("trainers/token_login.html", form=form), status


def _authenticate_token(token: str) -> tuple[Any, int | None, int]:
    """accounts.identify looks the token up by its SHA-256 (no secret is compared byte by byte
    in Python, so no timing leak); failures are throttled per client address."""
    address = request.remote_addr or "?"
    key = f"token@{address}"
    with _db().begin() as db:
        if throttle.blocked(db, key, address):
            return None, None, 429
        identity = accounts.identify(db, token) if len(token) <= 200 else None
        if identity is None:
            throttle.record_failure(db, key, address)
            return None, None, 401
        user = db.get(User, identity.user_id)
        if user is None or user.role != "agent":
            # The token is an agent's: it never opens a lead's, trainer's or admin's pages.
            throttle.record_failure(db, key, address)
            return None, None, 401
        return signed_in(user), identity.token_id, 200
