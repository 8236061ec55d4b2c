"""Routes: /dashboard (a team's numbers) and /me/dashboard (the signed-in agent's own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import abort, current_app, render_template, request
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.engine import QUESTIONS
from assistant.storage.models import Team

from . import dashboard, queries, svg
from .queries import ACTIONS, Scope

DEFAULT_DAYS = 30
MAX_DAYS = 731  # two years: a longer range is shortened, with a message saying so
DAILY_UP_TO = 92  # longer ranges are drawn by week
ACTION_NAMES = {"applied": "applied", "dismissed": "dismissed", "unhelpful": "not helpful"}


@dataclass
class Filters:
    start: date
    end: date
    by: str
    problems: list[str]
    bad: bool = False  # unreadable or inverted dates: answered 400 (with the defaults shown)


def _db() -> Any:
    return current_app.extensions["empathy"].sessions


def _today() -> date:
    return datetime.now(UTC).date()


def _filters() -> Filters:
    """Date range and bucket size from the query string; bad values are explained, not fatal."""
    problems = []
    end, start = _today(), _today() - timedelta(days=DEFAULT_DAYS - 1)
    try:
        if request.args.get("end"):
            end = date.fromisoformat(request.args["end"])
        start = (
            date.fromisoformat(request.args["start"])
            if request.args.get("start")
            else (end - timedelta(days=DEFAULT_DAYS - 1))
        )
        end + timedelta(days=1)  # the range ends at the next midnight: it must exist
    except (ValueError, OverflowError):
        problems.append("Dates must be written YYYY-MM-DD; showing the last 30 days.")
        end, start = _today(), _today() - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        problems.append("The start date is after the end date; showing the last 30 days.")
        end, start = _today(), _today() - timedelta(days=DEFAULT_DAYS - 1)
    bad = bool(problems)
    if (end - start).days >= MAX_DAYS:
        problems.append(f"Ranges are limited to {MAX_DAYS} days; showing the last {MAX_DAYS}.")
        start = end - timedelta(days=MAX_DAYS - 1)
    by = request.args.get("by", "")
    if by not in ("day", "week"):
        by = "day" if (end - start).days < DAILY_UP_TO else "week"
    return Filters(start, end, by, problems, bad)


def _team_choice(session: Session) -> tuple[Team | None, list[str] | None]:
    """The team whose numbers are shown, and the teams to pick from (None: no picker).

    Leads, and trainers with a team, see their own team only; admins and trainers without a
    team pick any team or every team together (no team chosen). Agents: 403."""
    reach, own = current_user.reach(), current_user.team  # the trainers' pages decide alike
    wanted = request.args.get("team", "").strip()
    if reach == "all":
        names = list(session.scalars(select(Team.name).order_by(Team.name)))
        team = session.scalar(select(Team).where(Team.name == wanted)) if wanted else None
        if wanted and team is None:
            abort(404)
        return team, names
    if reach == "team":
        if wanted and wanted != own:
            abort(403)  # another team's numbers: never, whatever the URL says
        team = session.scalar(select(Team).where(Team.name == own))
        if team is None:
            abort(404)
        return team, None
    abort(403)


@dashboard.get("/dashboard")
@login_required
def team_dashboard():
    filters = _filters()
    with _db()() as session:
        team, choices = _team_choice(session)
        scope = Scope(filters.start, filters.end, team_id=team.id if team else None)
        charts = _charts(session, scope, filters.by)
        rules = queries.changed_rules(session, team.name if team else None)
        rule_key = request.args.get("rule", "")
        if rule_key and rule_key not in rules:
            filters.problems.append(
                "That rule has no recorded change here; pick one from the list."
            )
            rule_key = ""
        rule_key = rule_key or (rules[0] if rules else "")
        change = queries.rule_change(session, scope, rule_key, _today()) if rule_key else None
    return render_template(
        "dashboard/dashboard.html",
        who=f"Team {team.name}" if team else "Every team",
        team=team.name if team else "",
        choices=choices,
        filters=filters,
        notices=filters.problems,
        charts=charts,
        rules=rules,
        rule_key=rule_key,
        change=change,
        change_chart=_change_chart(change) if change else None,
        own=False,
    ), 400 if filters.bad else 200


@dashboard.get("/me/dashboard")
@login_required
def my_dashboard():
    """The signed-in person's own conversations only: no team view, no comparison."""
    filters = _filters()
    with _db()() as session:
        scope = Scope(filters.start, filters.end, agent_id=current_user.id)
        charts = _charts(session, scope, filters.by)
    return render_template(
        "dashboard/dashboard.html",
        who="Your conversations",
        team="",
        choices=None,
        filters=filters,
        notices=filters.problems,
        charts=charts,
        rules=[],
        rule_key="",
        change=None,
        change_chart=None,
        own=True,
    ), 400 if filters.bad else 200


def _label(day: date, by: str) -> str:
    return f"wk {day.isoformat()}" if by == "week" else day.isoformat()


def _charts(session: Session, scope: Scope, by: str) -> dict[str, Any]:
    by_question, by_rule = queries.nudges_over_time(session, scope, by)
    labels = [_label(d, by) for d in by_question.labels]
    rates = queries.feedback_rates(session, scope)
    groups = ["all", *(f"Q{q}" for q in QUESTIONS)]
    waits = queries.waiting_times(session, scope)
    return {
        "labels": labels,
        "by_question": by_question,
        "by_rule": by_rule,
        "rates": rates,
        "groups": groups,
        "waits": waits,
        "questions": QUESTIONS,
        "svg_question": svg.line_chart("Nudges per checklist question", labels, by_question.lines),
        "svg_rule": svg.line_chart("Nudges per rule", labels, by_rule.lines),
        "svg_rates": svg.grouped_bars(
            "Share of nudges applied, dismissed, marked not helpful",
            ["All questions" if g == "all" else g for g in groups],
            {ACTION_NAMES[a]: [rates.rate(g, a) for g in groups] for a in ACTIONS},
        ),
        "svg_waits": svg.bar_chart(
            "Customer waiting time before the agent's reply", waits.labels, waits.counts
        ),
        "action_names": ACTION_NAMES,
    }


def _change_chart(change: queries.RuleChange) -> Markup:
    return svg.bar_chart(
        f"Nudges of {change.rule_key} per conversation, by day",
        [d.isoformat() for d in change.days],
        change.rates,
        marker=change.split,
        marker_label="changed",
        series="per conversation",
    )
