"""`flask --app server rules ...`: the editor's edits from the command line (each one is
recorded in the history as made by "cli", and live on running servers within ~2 s)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from assistant.engine import LexiconError
from assistant.engine.phrases import PhraseSyntaxError, parse_phrase
from assistant.storage import audit

from . import rules

rules_cli = AppGroup("rules", help="Edit the stored lexicon rules (live on running servers).")
NEUTRAL_PASS = "Thanks for your message, I'm looking into it now."


def _sessions():
    return current_app.extensions["empathy"].sessions


def _fail(error: LexiconError) -> None:
    raise click.ClickException("rule not saved:\n" + "\n".join(error.problems)) from None


@rules_cli.command("add")
@click.option("--phrase", "phrases", multiple=True, required=True, help="Plain-phrase pattern.")
@click.option("--question", type=click.IntRange(1, 5), required=True)
@click.option("--message", required=True)
@click.option("--suggestion", "suggestions", multiple=True, required=True)
@click.option("--team", default=None, help="Only this team's agents (default: everyone).")
@click.option("--id", "rule_id", default=None, help="Default: made from the first phrase.")
@click.option("--category", default="custom", show_default=True)
@click.option("--severity", type=click.Choice(["suggestion", "warning"]), default="suggestion")
@click.option("--flags", "flags", multiple=True, help="Example it must flag (default: phrase).")
@click.option("--passes", "passes", multiple=True, help="Example it must not flag.")
def add(phrases, question, message, suggestions, team, rule_id, category, severity, flags, passes):
    """Add a rule, exactly as the editor page would."""
    data = {
        "id": rule_id or rules.new_id(phrases[0]),
        "patterns": list(phrases),
        "category": category,
        "question": question,
        "severity": severity,
        "message": message,
        "suggestions": list(suggestions),
        "examples": {
            "flags": list(flags) or [_sentence(phrases[0])],
            "passes": list(passes) or [NEUTRAL_PASS],
        },
    }
    if team:
        data["team"] = team
    try:
        with _sessions().begin() as session:
            key = rules.save(session, data, rules.CLI)
    except LexiconError as error:
        _fail(error)
    click.echo(f"Added {key}; running servers use it within about 2 seconds.")


@rules_cli.command("list")
@click.option("--team", default=None, help="Only this team's own rules.")
def list_rules(team: str | None) -> None:
    """One line per rule: key, state, question, category, first phrase."""
    with _sessions()() as session:
        data = rules.all_rules(session)
    for rule in data:
        if team and rule.get("team") != team:
            continue
        state = "off" if rule.get("enabled") is False else "on "
        first = (rule.get("patterns") or [rule.get("message", "")])[0]
        click.echo(
            f"{rules.rule_key(rule):40} {state} q{rule['question']} "
            f"{rule.get('category', ''):16} {first}"
        )


@rules_cli.command("disable")
@click.argument("key")
def disable(key: str) -> None:
    """Disable a rule (KEY is its id, or id@team for a team's own rule)."""
    try:
        with _sessions().begin() as session:
            rules.set_enabled(session, key, False, rules.CLI)
    except LookupError:
        raise click.ClickException(f"no rule {key}") from None
    except LexiconError as error:
        _fail(error)
    click.echo(f"Disabled {key}.")


@rules_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def import_file(file) -> None:
    """Add or replace the rules of a lexicon YAML file (nothing is written if one is broken)."""
    try:
        with _sessions().begin() as session:
            added, changed = rules.import_text(session, file.read(), file.name, rules.CLI)
            details = {"file": file.name, "added": added, "changed": changed}
            audit.record(session, "lexicon.import", file.name, details=details)
    except LexiconError as error:
        raise click.ClickException("not imported:\n" + "\n".join(error.problems)) from None
    click.echo(f"Imported {file.name}: {added} new, {changed} changed.")


@rules_cli.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), required=False)
@click.option("--team", default=None, help="Only this team's own rules.")
def export(file, team: str | None) -> None:
    """Write the stored rules as a lexicon YAML file (default: standard output)."""
    with _sessions()() as session:
        text = rules.export_text(session, team, everything=team is None)
    (file or sys.stdout).write(text)


def _sentence(phrase: str) -> str:
    """A sentence the phrase must flag: its first wording ('(calm|settle) down' -> 'calm down.')."""
    try:
        return " ".join(word.text for word in parse_phrase(phrase)[0]) + "."
    except PhraseSyntaxError:
        return phrase  # the rule's validation reports the phrase itself
