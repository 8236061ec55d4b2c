"""`python -m assistant check | lint | eval | eval-feelings` — the engine from a terminal."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn, TextIO

from .engine import Engine, Finding, LexiconError, load_rules
from .engine.evaluation import (
    format_feelings_score,
    format_phrase_score,
    read_goemotions,
    read_phrase_tsv,
    score_feelings,
    score_phrases,
)
from .engine.examples import example_failures

DEFAULT_LEXICONS = Path(__file__).resolve().parent.parent / "lexicons"
FINDING_KEYS = (
    "rule",
    "category",
    "question",
    "start",
    "end",
    "message",
    "suggestions",
    "severity",
)


class UsageError(Exception):
    """Bad usage or unreadable input: one line on stderr, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> Parser:
    parser = Parser(prog="python -m assistant", description=__doc__)
    parser.add_argument(
        "--lexicons",
        default=os.environ.get("EMPATHY_LEXICONS", str(DEFAULT_LEXICONS)),
        help="lexicon directory or file (default: the repository's lexicons/)",
    )
    parser.add_argument(
        "--pipeline",
        default=os.environ.get("EMPATHY_SPACY_PIPELINE") or None,
        help="a trained spaCy pipeline to use (e.g. en_core_web_sm); default: none needed",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    check = commands.add_parser("check", help="analyse one message per line")
    check.add_argument("--role", choices=("agent", "customer"), default="agent")
    check.add_argument("--format", choices=("text", "jsonl"), default="text")
    check.add_argument("files", nargs="*", metavar="FILE", help="default: standard input")
    commands.add_parser("lint", help="validate the lexicons and run every entry's examples")
    evaluate = commands.add_parser("eval", help="recall / false flags on a labelled TSV")
    evaluate.add_argument("file", metavar="FILE.tsv")
    feelings = commands.add_parser("eval-feelings", help="feeling detector on GoEmotions")
    feelings.add_argument("file", metavar="FILE.tsv")
    return parser


def load_engine(args: argparse.Namespace) -> Engine:
    try:
        return Engine(load_rules(args.lexicons), pipeline=args.pipeline)
    except LexiconError as error:
        raise UsageError(f"broken lexicon: {error.problems[0]}") from None
    except OSError as error:  # spaCy's "can't find model"
        raise UsageError(f"cannot load pipeline {args.pipeline!r}: {error}") from None


def _open_inputs(files: list[str]) -> list[tuple[str, TextIO]]:
    if not files:
        return [("-", sys.stdin)]
    opened = []
    for name in files:
        try:
            opened.append((name, open(name, encoding="utf-8")))  # noqa: SIM115 - closed by caller
        except OSError as error:
            raise UsageError(f"cannot read {name}: {error.strerror}") from None
    return opened


def _lines(inputs: list[tuple[str, TextIO]]) -> Iterator[tuple[str, int, str]]:
    for name, handle in inputs:
        try:
            for number, line in enumerate(handle, start=1):
                yield name, number, line.rstrip("\r\n")
        except UnicodeDecodeError:
            raise UsageError(f"cannot read {name}: not UTF-8 text") from None


def _text_report(name: str, number: int, line: str, findings: list[Finding]) -> str:
    out = []
    for f in findings:
        column = f.start + 1
        out.append(f"{name}:{number}:{column}: {f.severity} [{f.rule}] Q{f.question} {f.message}")
        if f.text:
            out.append(f"    flagged: {f.text!r}")
        out.extend(f"    try: {suggestion}" for suggestion in f.suggestions[:2])
    return "\n".join(out)


def run_check(args: argparse.Namespace, out: TextIO) -> int:
    engine = load_engine(args)
    analyse = engine.feelings if args.role == "customer" else engine.analyse
    inputs = _open_inputs(args.files)
    try:
        for name, number, line in _lines(inputs):
            findings = analyse(line)
            if args.format == "jsonl":
                items = [{k: getattr(f, k) for k in FINDING_KEYS} for f in findings]
                out.write(json.dumps({"text": line, "findings": items}, ensure_ascii=False) + "\n")
            elif findings:
                out.write(_text_report(name, number, line, findings) + "\n")
            out.flush()
    finally:
        for name, handle in inputs:
            if name != "-":
                handle.close()
    return 0


def run_lint(args: argparse.Namespace, out: TextIO) -> int:
    try:
        engine = Engine(load_rules(args.lexicons), pipeline=args.pipeline)
    except LexiconError as error:
        out.write("\n".join(error.problems) + "\n")
        return 1
    failures = example_failures(engine)
    out.write("\n".join(failures) + ("\n" if failures else ""))
    examples = sum(len(r.flags) + len(r.passes) for r in engine.rules.values())
    out.write(f"{len(engine.rules)} rules, {examples} examples, {len(failures)} failing\n")
    return 1 if failures else 0


def run_eval(args: argparse.Namespace, out: TextIO) -> int:
    engine = load_engine(args)
    try:
        rows = read_phrase_tsv(Path(args.file))
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {args.file}: {error}") from None
    out.write(format_phrase_score(score_phrases(engine, rows)) + "\n")
    return 0


def run_eval_feelings(args: argparse.Namespace, out: TextIO) -> int:
    engine = load_engine(args)
    try:
        rows = read_goemotions(Path(args.file))
    except (OSError, ValueError, IndexError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {args.file}: {error}") from None
    out.write(format_feelings_score(score_feelings(engine, rows)) + "\n")
    return 0


COMMANDS = {
    "check": run_check,
    "lint": run_lint,
    "eval": run_eval,
    "eval-feelings": run_eval_feelings,
}


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args, out)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
