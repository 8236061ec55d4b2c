"""Export stored conversations as JSON or CSV, streamed a page of conversations at a time.

JSON: {"conversations": [{"id", "agent", "team", "started", "messages": [{"id", "role", "text",
"ts", "findings": [{"rule", "question", "severity", "start", "end", "text"}]}]}]}, one
conversation per line. `id` is the client's conversation id (from hello) and the message's
client id; times are ISO 8601 in UTC. CSV: one row per message, with its conversation's columns
and the findings as JSON text; a cell a spreadsheet would run as a formula (= + - @ tab CR
first) starts with a `'` (the importer takes it off again). Texts are as stored: redacted.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, selectinload, sessionmaker

from assistant.storage.ids import safe_external_id
from assistant.storage.models import Conversation, Message, Team, User
from assistant.storage.times import as_utc

from .sources import EXPORT_COLUMNS, guard_cell

PAGE = 200  # conversations read per query
CSV_COLUMNS = EXPORT_COLUMNS


@dataclass
class Selection:
    since: datetime | None = None  # conversations started on or after
    conversations: tuple[str, ...] = ()  # client conversation ids
    team: str | None = None


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z (SQLite hands back naive datetimes: they are UTC)."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def conversations(sessions: sessionmaker[Session], selection: Selection) -> Iterator[dict]:
    """The selected conversations as export dicts, oldest first, one page in memory at a time."""
    after = 0
    while True:
        with sessions() as session:
            page = _page(session, selection, after)
        if not page:
            return
        after = page[-1].pop("_pk")
        for item in page:
            item.pop("_pk", None)
            yield item


def _page(session: Session, selection: Selection, after: int) -> list[dict]:
    agent = aliased(User)
    query = (
        select(Conversation, Team.name, agent.name)
        .join(Team, Team.id == Conversation.team_id)
        .outerjoin(agent, agent.id == Conversation.agent_id)
        .where(Conversation.id > after)
        .order_by(Conversation.id)
        .limit(PAGE)
    )
    if selection.since is not None:
        query = query.where(Conversation.created_at >= selection.since)
    if selection.conversations:
        # An id that held personal data was stored hashed (as the live server does): match both.
        # (A NUL is never stored, and PostgreSQL refuses it even in a query.)
        given = {c for c in selection.conversations if "\x00" not in c}
        wanted = {*given, *map(safe_external_id, selection.conversations)}
        query = query.where(Conversation.external_id.in_(wanted))
    if selection.team:
        query = query.where(Team.name == selection.team)
    rows = session.execute(query).all()
    if not rows:
        return []
    messages: dict[int, list[Message]] = {}
    for message in session.scalars(
        select(Message)
        .where(Message.conversation_id.in_([row[0].id for row in rows]))
        .options(selectinload(Message.findings))
        .order_by(Message.conversation_id, Message.sent_at, Message.id)
    ):
        messages.setdefault(message.conversation_id, []).append(message)
    return [
        {
            "_pk": conversation.id,
            "id": conversation.external_id,
            "agent": agent_name or conversation.agent_name,
            "team": team_name,
            "started": iso(conversation.created_at),
            "messages": [_message(m) for m in messages.get(conversation.id, [])],
        }
        for conversation, team_name, agent_name in rows
    ]


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.client_id,
        "role": message.author,
        "text": message.text,
        "ts": iso(message.sent_at),
        "findings": [
            {
                "rule": f.rule,
                "question": f.question,
                "severity": f.severity,
                "start": f.start,
                "end": f.end,
                "text": f.text,
            }
            for f in message.findings
        ],
    }


def write_json(items: Iterator[dict], out: TextIO) -> int:
    """Write the export; returns how many conversations."""
    count = 0
    out.write('{"conversations": [')
    for item in items:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(item, ensure_ascii=False))
        count += 1
    out.write("\n]}\n")
    return count


def write_csv(items: Iterator[dict], out: TextIO) -> int:
    """One row per message (a conversation without messages gets none); returns how many
    conversations."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for item in items:
        count += 1
        head = (item["id"], item["agent"] or "", item["team"], item["started"])
        for message in item["messages"]:
            cells = (
                *head,
                message["id"],
                message["role"],
                message["text"],
                message["ts"],
                json.dumps(message["findings"], ensure_ascii=False),
            )
            writer.writerow([guard_cell(cell) for cell in cells])
    return count
