"""`flask --app server transcripts export|import|purge`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from assistant.storage import audit
from assistant.storage.times import as_utc

from .export import Selection, conversations, write_csv, write_json
from .importer import run_import
from .purge import purge
from .sources import FIELDS, PRESETS, ROLES, SourceError, options_for

transcripts = AppGroup("transcripts", help="Export, import and purge stored conversations.")

EXIT_SKIPPED = 3  # the import ran, but some records were bad and skipped


def _runtime():
    return current_app.extensions["empathy"]


def _date(_ctx, _param, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD or ISO 8601)") from None
    try:
        return as_utc(moment)
    except OverflowError:  # year 1 or 9999 shifted by its offset
        raise click.BadParameter(f"{value!r} is out of range") from None


@transcripts.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option("--since", callback=_date, help="Conversations started on or after (UTC).")
@click.option("--conversation", multiple=True, help="A conversation id (repeatable).")
@click.option("--team", default=None, help="Only this team's conversations.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None)
def export_command(
    fmt: str,
    since: datetime | None,
    conversation: tuple[str, ...],
    team: str | None,
    output: str | None,
) -> None:
    """Write conversations (redacted, as stored) as JSON or CSV, to FILE or stdout."""
    sessions = _runtime().sessions
    items = conversations(sessions, Selection(since, conversation, team))
    write = write_json if fmt == "json" else write_csv
    if output is None:
        count = write(items, sys.stdout)
    else:
        with open(output, "w", encoding="utf-8", newline="") as out:
            count = write(items, out)
    # Transcripts leaving the server is worth a line in the audit log (what, not which texts).
    with sessions.begin() as session:
        details = {"conversations": count, "format": fmt, "team": team}
        details["since"] = since.isoformat() if since else None
        audit.record(session, "transcripts.export", details=details)
    click.echo(f"Exported {count} conversation(s).", err=True)


def _pairs(_ctx, param, value: str | None) -> dict[str, str] | None:
    """ "a=b,c=d" into {"a": "b", "c": "d"}."""
    if not value:
        return None
    pairs = {}
    for part in value.split(","):
        name, sep, target = part.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise click.BadParameter(f"{part!r} is not NAME=VALUE", param=param)
        pairs[name.strip()] = target.strip()
    return pairs


def _mapping(ctx, param, value: str | None) -> dict[str, str] | None:
    pairs = _pairs(ctx, param, value)
    unknown = sorted(set(pairs or {}) - set(FIELDS))
    if unknown:
        raise click.BadParameter(f"unknown field(s) {unknown}; known: {', '.join(FIELDS)}")
    return pairs


def _role_values(ctx, param, value: str | None) -> dict[str, list[str]] | None:
    pairs = _pairs(ctx, param, value)
    if pairs is None:
        return None
    unknown = sorted(set(pairs) - set(ROLES))
    if unknown:
        raise click.BadParameter(f"roles are customer and agent, not {unknown}")
    return {role: values.split("|") for role, values in pairs.items()}


@transcripts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None)
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None)
@click.option("--map", "mapping", callback=_mapping, help="field=column,… e.g. role=author")
@click.option("--role-values", callback=_role_values, help="e.g. customer=USER,agent=SYSTEM")
@click.option("--delimiter", default=None, help="CSV field separator (default , or tab for .tsv)")
@click.option("--team", default=None, help="Store every conversation in this team.")
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True)
def import_command(
    file: Path,
    fmt: str | None,
    preset: str | None,
    mapping: dict[str, str] | None,
    role_values: dict[str, list[str]] | None,
    delimiter: str | None,
    team: str | None,
    processes: int,
) -> None:
    """Import transcripts: our own export, a helpdesk export (JSON or CSV with --map) or a
    preset (abcd, sgd). Redacted before storing, analysed as the live server would; running
    it again stores nothing twice. Exit 0: all imported; 3: bad records were skipped; 1: the
    file could not be read."""
    options = options_for(preset, fmt, mapping, role_values, delimiter)
    runtime = _runtime()
    with click.progressbar(length=1, label="Importing", file=sys.stderr) as bar:
        try:
            report = run_import(
                file,
                options,
                runtime.sessions,
                team=team,
                processes=processes,
                wait_seconds=current_app.config["EMPATHY_WAIT_SECONDS"],
                on_problem=lambda problem: click.echo(f"\nskipped: {problem}", err=True),
                on_progress=bar.update,
                on_total=lambda total: setattr(bar, "length", total),
            )
        except SourceError as error:
            raise click.ClickException(str(error)) from None
        except SQLAlchemyError as error:
            raise click.ClickException(
                f"database error ({type(error).__name__}); what was stored so far is kept: "
                "run the same import again to finish it"
            ) from None
    click.echo(
        f"Imported {report.messages} message(s) ({report.findings} finding(s)) in "
        f"{report.conversations} new and {report.continued} continued conversation(s); "
        f"{report.already_stored} message(s) already stored; {report.problems} bad record(s) "
        "skipped."
    )
    if report.problems:
        sys.exit(EXIT_SKIPPED)


@transcripts.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Days (default: EMPATHY_RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
def purge_command(days: float | None, dry_run: bool) -> None:
    """Delete conversations older than DAYS with everything attached (peer examples stay)."""
    days = days if days is not None else current_app.config["EMPATHY_RETENTION_DAYS"]
    if not days:
        raise click.UsageError("give --older-than DAYS or set EMPATHY_RETENTION_DAYS")
    report = purge(_runtime().sessions, days, dry_run=dry_run)
    counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.counts().items())
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb} (before {report.cutoff.isoformat()}): {counts}.")
