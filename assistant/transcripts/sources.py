"""Reading transcripts from files: our own export, helpdesk exports (JSON or CSV with a column
mapping) and named presets for the datasets in ../shared/data (abcd, sgd).

Readers yield `Transcript`s and `Problem`s (a bad record: where it is and what is wrong) and
never raise for bad content; a file that cannot be read at all raises `SourceError`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from assistant.storage.times import as_utc

ROLES = ("customer", "agent")
FIELDS = ("conversation", "id", "role", "text", "ts", "agent", "team", "started")
REQUIRED = ("conversation", "role", "text")
MAX_TEXT_CHARS = 100_000  # a chat message is never this long; a pasted file is not a message
MAX_ID_CHARS = 200

# Our own CSV export's columns; also the default mapping for helpdesk CSV and flat JSON.
DEFAULT_MAP = {
    "conversation": "conversation_id",
    "id": "message_id",
    "role": "role",
    "text": "text",
    "ts": "ts",
    "agent": "agent",
    "team": "team",
    "started": "started",
}

# The header of our own CSV export (export.CSV_COLUMNS): its cells may carry the formula guard.
EXPORT_COLUMNS = (
    "conversation_id",
    "agent",
    "team",
    "started",
    "message_id",
    "role",
    "text",
    "ts",
    "findings",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Named adapters for the real data in ../shared/data.
PRESETS: dict[str, dict[str, Any]] = {
    # Schema-Guided Dialogue, flattened: dialogue_id, turn, speaker (USER|SYSTEM), utterance.
    "sgd": {
        "format": "csv",
        "delimiter": "\t",
        "map": {
            "conversation": "dialogue_id",
            "id": "turn",
            "role": "speaker",
            "text": "utterance",
        },
        "role_values": {"customer": ["USER"], "agent": ["SYSTEM"]},
        # The file joins the test and dev splits, whose dialogue ids overlap (1,637 of them).
        "runs_are_conversations": True,
    },
    # ABCD: a JSON list of {convo_id, scenario, original: [[speaker, text], ...]}.
    "abcd": {"format": "abcd"},
}


class SourceError(Exception):
    """The file as a whole cannot be read (nothing was imported from it)."""


@dataclass(frozen=True)
class Problem:
    where: str  # "line 12", "conversation 3 message 2"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class Line:
    client_id: str
    role: str  # customer | agent
    text: str  # as in the file (redacted before anything stores it)
    sent_at: datetime | None


@dataclass
class Transcript:
    external_id: str
    lines: list[Line] = field(default_factory=list)
    team: str | None = None
    agent: str | None = None
    started: datetime | None = None


Item = Transcript | Problem


@dataclass
class Options:
    format: str | None = None  # json | csv | abcd; None: from the file's extension
    mapping: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MAP))
    role_values: dict[str, list[str]] = field(default_factory=dict)  # our role -> their values
    delimiter: str | None = None
    runs_are_conversations: bool = False  # see _grouped


def options_for(
    preset: str | None,
    format: str | None,
    mapping: dict[str, str] | None,
    role_values: dict[str, list[str]] | None,
    delimiter: str | None = None,
) -> Options:
    """Options from a preset, overridden by what was given explicitly."""
    base = PRESETS[preset] if preset else {}
    merged = dict(DEFAULT_MAP)
    merged.update(base.get("map", {}))
    merged.update(mapping or {})
    return Options(
        format=format or base.get("format"),
        mapping=merged,
        role_values=role_values or base.get("role_values", {}),
        delimiter=delimiter or base.get("delimiter"),
        runs_are_conversations=base.get("runs_are_conversations", False),
    )


def guess_format(path: Path, options: Options) -> str:
    if options.format:
        return options.format
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix == ".json":
        return "json"
    raise SourceError(f"{path.name}: cannot tell the format from the name; give --format json|csv")


def read(path: Path, options: Options) -> tuple[int, Generator[Item, None, None]]:
    """How many rows (messages) to expect, and the transcripts and problems in file order."""
    fmt = guess_format(path, options)
    if fmt == "csv":
        return max(1, _count_lines(path) - 1), read_csv(path, options)
    if fmt not in ("json", "abcd"):
        raise SourceError(f"unknown format {fmt!r} (json, csv or abcd)")
    data = load_json(path)
    total = _json_rows(data)
    return total, read_abcd(data, options) if fmt == "abcd" else read_json(data, options)


def _count_lines(path: Path) -> int:
    try:
        with path.open("rb") as file:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
    except OSError as error:
        raise SourceError(f"{path.name}: cannot read: {error.strerror or error}") from None


def _json_rows(data: Any) -> int:
    if isinstance(data, dict):
        data = data.get("conversations")
    if not isinstance(data, list):
        return 1
    total = 0
    for record in data:
        inner = record.get("messages", record.get("original")) if isinstance(record, dict) else None
        total += len(inner) if isinstance(inner, list) else 1
    return max(1, total)


# --- JSON ------------------------------------------------------------------------------------


def load_json(path: Path) -> Any:
    try:
        with path.open("rb") as file:
            return json.load(file, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise SourceError(
            f"{path.name}: not valid JSON (line {error.lineno}, column {error.colno}): {error.msg}"
        ) from None
    except UnicodeDecodeError as error:
        raise SourceError(f"{path.name}: not UTF-8 text (byte {error.start})") from None
    except RecursionError:
        raise SourceError(f"{path.name}: JSON nested too deeply") from None
    except ValueError as error:  # NaN/Infinity, or an integer too long to convert
        raise SourceError(f"{path.name}: not valid JSON: {error}") from None
    except OSError as error:
        raise SourceError(f"{path.name}: cannot read: {error.strerror or error}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def read_json(data: Any, options: Options) -> Generator[Item, None, None]:
    """Our export ({"conversations": [...]}), a list of such conversations, or a list of flat
    message records read through the column mapping (like CSV rows)."""
    if isinstance(data, dict):
        if "conversations" not in data:
            yield Problem("file", 'a JSON object needs a "conversations" list')
            return
        data = data["conversations"]
        if not isinstance(data, list):
            yield Problem("file", '"conversations" must be a list')
            return
        yield from _nested(data, options)
        return
    if not isinstance(data, list):
        yield Problem("file", 'expected a JSON list of records or {"conversations": [...]}')
        return
    if data and isinstance(data[0], dict) and "messages" in data[0]:
        yield from _nested(data, options)
    else:
        yield from _grouped(_flat_json_rows(data), options)


def _nested(conversations: list[Any], options: Options) -> Iterator[Item]:
    for number, record in enumerate(conversations, start=1):
        where = f"conversation {number}"
        if not isinstance(record, dict):
            yield Problem(where, "must be an object")
            continue
        try:
            external_id = _identifier(record.get("id"), "id")
            transcript = Transcript(
                external_id,
                team=_optional_text(record.get("team"), "team"),
                agent=_optional_text(record.get("agent"), "agent"),
                started=_optional_time(record.get("started"), "started"),
            )
        except ValueError as error:
            yield Problem(where, str(error))
            continue
        messages = record.get("messages")
        if not isinstance(messages, list):
            yield Problem(where, '"messages" must be a list')
            continue
        for index, message in enumerate(messages, start=1):
            try:
                if not isinstance(message, dict):
                    raise ValueError("must be an object")
                transcript.lines.append(
                    _line(
                        message.get("id", index),
                        message.get("role"),
                        message.get("text"),
                        message.get("ts"),
                        options,
                    )
                )
            except ValueError as error:
                yield Problem(f"{where} message {index}", str(error))
        yield transcript


def _flat_json_rows(data: list[Any]) -> Iterator[tuple[str, dict[str, Any] | None]]:
    for number, row in enumerate(data, start=1):
        yield f"record {number}", row if isinstance(row, dict) else None


def read_abcd(data: Any, options: Options) -> Generator[Item, None, None]:
    """ABCD's role-play conversations: speaker agent|customer|action; actions ("Account has
    been pulled up") are the agent's tool, not chat, and are left out."""
    if not isinstance(data, list):
        yield Problem("file", "expected a JSON list of ABCD conversations")
        return
    for number, record in enumerate(data, start=1):
        where = f"conversation {number}"
        turns = record.get("original") if isinstance(record, dict) else None
        if not isinstance(turns, list):
            yield Problem(where, 'needs "convo_id" and an "original" list of [speaker, text]')
            continue
        try:
            transcript = Transcript(_identifier(record.get("convo_id"), "convo_id"))
        except ValueError as error:
            yield Problem(where, str(error))
            continue
        for index, turn in enumerate(turns, start=1):
            if isinstance(turn, list) and len(turn) == 2 and turn[0] == "action":
                continue
            try:
                if not isinstance(turn, list) or len(turn) != 2:
                    raise ValueError("a turn must be [speaker, text]")
                transcript.lines.append(_line(index, turn[0], turn[1], None, options))
            except ValueError as error:
                yield Problem(f"{where} turn {index}", str(error))
        yield transcript


# --- CSV -------------------------------------------------------------------------------------


def read_csv(path: Path, options: Options) -> Generator[Item, None, None]:
    """Checks the header now (a SourceError names the missing columns); the rows are read
    when iterated, with the file open only while they are."""
    delimiter = options.delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
    with _open_text(path) as file:
        try:
            header = csv.DictReader(file, delimiter=delimiter).fieldnames
        except (UnicodeDecodeError, csv.Error) as error:
            raise SourceError(f"{path.name}: cannot read the header: {error}") from None
    missing = [
        f"{name} (column {options.mapping[name]!r})"
        for name in REQUIRED
        if options.mapping.get(name) not in (header or [])
    ]
    if missing:
        found = ", ".join(repr(c) for c in header or []) or "none"
        raise SourceError(
            f"{path.name}: missing column(s) {', '.join(missing)}; the file has {found}. "
            "Map yours with --map, e.g. --map conversation=ticket,role=author,text=body"
        )
    return _csv_items(path, delimiter, options)


def guard_cell(value: str) -> str:
    """A cell a spreadsheet would run as a formula, with a leading `'` so it shows as text.
    A cell that is quotes then such a start gets one more quote, so unguard_cell is exact."""
    return "'" + value if value.lstrip("'").startswith(FORMULA_STARTS) else value


def unguard_cell(value: str) -> str:
    """The cell as it was before guard_cell (for our own export's CSV)."""
    guarded = value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS)
    return value[1:] if guarded else value


def _open_text(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise SourceError(f"{path.name}: cannot read: {error.strerror or error}") from None


def _csv_items(path: Path, delimiter: str, options: Options) -> Generator[Item, None, None]:
    with _open_text(path) as file:
        reader = csv.DictReader(file, delimiter=delimiter)
        rows = _csv_rows(reader)
        if tuple(reader.fieldnames or ()) == EXPORT_COLUMNS:
            rows = _unguarded(rows)  # our own export: undo its formula guard
        yield from _grouped(rows, options)


def _unguarded(
    rows: Iterator[tuple[str, dict[str, Any] | None]],
) -> Iterator[tuple[str, dict[str, Any] | None]]:
    for where, row in rows:
        if row is not None and "__error__" not in row:
            row = {k: unguard_cell(v) if isinstance(v, str) else v for k, v in row.items()}
        yield where, row


def _csv_rows(reader: csv.DictReader) -> Iterator[tuple[str, dict[str, Any] | None]]:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            # The reader cannot resume after this: say where, and stop (rows so far are kept).
            yield f"line {reader.line_num + 1}", {"__error__": f"{error}; reading stopped here"}
            return
        if None in row:
            yield f"line {reader.line_num}", {"__error__": "more fields than the header has"}
            continue
        yield f"line {reader.line_num}", row


# --- rows grouped into conversations (CSV and flat JSON) -----------------------------------


def _grouped(rows: Iterator[tuple[str, dict[str, Any] | None]], options: Options) -> Iterator[Item]:
    """Consecutive rows with the same conversation id make one transcript. A conversation
    whose rows come back later continues where it was (messages are keyed by their ids), unless
    `options.runs_are_conversations`: then each run is a conversation of its own, the second
    run of an id stored as "ID~2" (files joined from exports whose ids overlap, like sgd's
    test and dev splits)."""
    current: Transcript | None = None
    run_id: str | None = None  # the file's id of the current run of rows
    runs: dict[str, int] = {}
    mapping = options.mapping
    counters: dict[str, int] = {}
    for where, row in rows:
        if row is None:
            yield Problem(where, "must be an object")
            continue
        if "__error__" in row:
            yield Problem(where, row["__error__"])
            continue
        try:
            raw_id = _identifier(_field(row, mapping, "conversation"), "conversation id")
            if current is None or raw_id != run_id:
                if current is not None:
                    yield current
                runs[raw_id] = runs.get(raw_id, 0) + 1
                run_id, external_id = raw_id, raw_id
                if options.runs_are_conversations and runs[raw_id] > 1:
                    external_id = f"{raw_id}~{runs[raw_id]}"
                current = Transcript(
                    external_id,
                    team=_optional_text(_field(row, mapping, "team"), "team"),
                    agent=_optional_text(_field(row, mapping, "agent"), "agent"),
                    started=_optional_time(_field(row, mapping, "started"), "started"),
                )
            key = current.external_id
            counters[key] = counters.get(key, 0) + 1
            client_id = _field(row, mapping, "id")
            line = _line(
                counters[key] if client_id in (None, "") else client_id,
                _field(row, mapping, "role"),
                _field(row, mapping, "text"),
                _field(row, mapping, "ts"),
                options,
            )
            current.agent = current.agent or _optional_text(_field(row, mapping, "agent"), "agent")
        except ValueError as error:
            yield Problem(where, str(error))
            continue
        current.lines.append(line)
    if current is not None:
        yield current


def _field(row: dict[str, Any], mapping: dict[str, str], name: str) -> Any:
    column = mapping.get(name)
    return row.get(column) if column else None


# --- values ----------------------------------------------------------------------------------


def _line(client_id: Any, role: Any, text: Any, ts: Any, options: Options) -> Line:
    if not isinstance(text, str):
        raise ValueError("text is missing" if text is None else "text must be a string")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text longer than {MAX_TEXT_CHARS:,} characters")
    return Line(_identifier(client_id, "message id", 100), _role(role, options), text, _time(ts))


def _role(value: Any, options: Options) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("role is missing" if value in (None, "") else "role must be a string")
    wanted = value.strip().lower()
    for role, values in options.role_values.items():
        if wanted in (v.strip().lower() for v in values):
            return role
    if wanted in ROLES:
        return wanted
    hint = ", ".join(f"{r}={'|'.join(v)}" for r, v in options.role_values.items())
    shown = value if len(value) <= 40 else value[:40] + "…"
    raise ValueError(
        f"role {shown!r} is neither customer nor agent"
        + (f" (mapped: {hint})" if hint else "; map it with --role-values customer=X,agent=Y")
    )


def _identifier(value: Any, name: str, limit: int = MAX_ID_CHARS) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{name} is missing" if value is None else f"{name} must be a string")
    text = _no_nul(str(value)).strip()
    if not text:
        raise ValueError(f"{name} is empty")
    if len(text) > limit:
        raise ValueError(f"{name} longer than {limit} characters")
    return text


def _optional_text(value: Any, name: str) -> str | None:
    """A name (team: cut to its column's 100 characters; agent: 200)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return _no_nul(value).strip()[: 100 if name == "team" else 200] or None


def _no_nul(text: str) -> str:
    # PostgreSQL refuses NUL in text; an id must compare equal to what was stored next time.
    return text.replace("\x00", "\ufffd")


def _optional_time(value: Any, name: str) -> datetime | None:
    try:
        return _time(value)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _time(value: Any) -> datetime | None:
    """ISO 8601 (naive means UTC) or a Unix time in seconds or milliseconds; None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("timestamp must be ISO 8601 or a Unix time")
    if isinstance(value, int | float):
        return _epoch(float(value))
    if not isinstance(value, str):
        raise ValueError("timestamp must be ISO 8601 or a Unix time")
    text = value.strip()
    try:
        return _epoch(float(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise ValueError(f"timestamp {shown!r} is not ISO 8601 or a Unix time") from None
    try:
        return as_utc(moment)
    except OverflowError:  # year 1 or 9999 shifted by its offset
        raise ValueError("timestamp out of range") from None


def _epoch(seconds: float) -> datetime:
    if not math.isfinite(seconds):
        raise ValueError("timestamp is not a number")
    if seconds > 100_000_000_000:  # milliseconds (as the extension sends them)
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("timestamp out of range") from None
