"""Import transcripts in bulk: read, redact, analyse (over several processes), store.

Each conversation is analysed as the live server would have analysed it message by message
(assistant/live/connection.py): the text is redacted first; a customer message gets the feelings
`observe_customer` finds, an agent message the findings of `review` with the context of what came
before, then `observe_agent`. Offsets point into the redacted text, which is all that is stored.

Idempotent: a conversation is keyed by team + its id in the file, a message by its id within the
conversation; what is already stored is skipped (and not analysed again when a whole
conversation is). Batches are committed as they go, so an interrupted import resumes by running
it again.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from assistant.engine import Context, Engine
from assistant.live.lexicons import PIPELINE
from assistant.live.rule_cache import RuleCache
from assistant.storage import accounts, audit, lexicon_store
from assistant.storage.ids import safe_external_id
from assistant.storage.models import Conversation, Message, MessageFinding, Team, User
from assistant.storage.redact import redact
from assistant.storage.writer import fit

from .sources import Options, Problem, SourceError, Transcript, read

log = logging.getLogger(__name__)

DEFAULT_TEAM = "default"
BATCH_MESSAGES = 500  # per task sent to a worker and per database transaction
FINDING_FIELDS = ("rule", "category", "question", "severity", "start", "end", "text")

__all__ = ["ImportReport", "SourceError", "run_import"]


@dataclass
class ImportReport:
    conversations: int = 0  # new conversations stored
    continued: int = 0  # conversations already stored that got new messages
    messages: int = 0  # new messages stored
    already_stored: int = 0  # messages skipped because they were stored before
    findings: int = 0
    problems: int = 0  # records skipped (each reported through on_problem)

    def counts(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Analysed:
    transcript: Transcript  # texts redacted
    findings: list[list[dict[str, Any]]]  # per line


@dataclass
class Batch:
    transcripts: list[Transcript] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0  # lines and problems read, for the progress bar
    skipped: int = 0  # messages of conversations already stored whole


def run_import(
    path: Path,
    options: Options,
    sessions: sessionmaker[Session],
    *,
    team: str | None = None,
    processes: int = 1,
    wait_seconds: float = 60.0,
    on_problem: Callable[[Problem], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import one file; raises SourceError when the file cannot be read at all."""
    total, items = read(Path(path), options)  # opens and checks the file (header, JSON) first
    if on_total:
        on_total(total)
    try:
        with sessions() as session:
            spec = _engine_spec(session)
    except BaseException:
        items.close()
        raise
    report = ImportReport()
    store = _Store(sessions, wait_seconds)
    in_flight = max(2, processes * 3)
    window = threading.Semaphore(in_flight)
    batches = _batches(items, sessions, team, window)
    try:
        for analysed, batch in _analysed(batches, spec, processes):
            for problem in batch.problems:
                report.problems += 1
                if on_problem:
                    on_problem(problem)
            report.already_stored += batch.skipped
            store.save(analysed, report)
            window.release()
            if on_progress:
                on_progress(batch.rows)
    finally:
        items.close()  # a CSV file read part way (an error) is closed now, not at exit
        window.release(in_flight)  # never leave the pool's reader waiting on a failed import
        _audit(sessions, Path(path).name, report)
    return report


def _audit(sessions: sessionmaker[Session], name: str, report: ImportReport) -> None:
    """What was stored is logged, even after an error (unless the database is what failed)."""
    try:
        with sessions.begin() as session:
            audit.record(session, "transcripts.import", name, details=report.counts())
    except SQLAlchemyError:
        log.warning("import of %s not audit-logged: database error", name, exc_info=True)


# --- reading into batches --------------------------------------------------------------------


def _batches(
    items: Iterable[Transcript | Problem],
    sessions: sessionmaker[Session],
    team: str | None,
    window: threading.Semaphore,
) -> Iterator[Batch]:
    """Batches of about BATCH_MESSAGES messages; conversations already stored whole are
    dropped here, before any analysis. At most `window` batches are in flight (the pool reads
    ahead without limit otherwise: a big file would be held in memory whole)."""
    batch = Batch()
    size = 0
    for item in items:
        if isinstance(item, Problem):
            batch.problems.append(item)
            batch.rows += 1
            continue
        item.team = (team or item.team or DEFAULT_TEAM)[:100]
        item.external_id = safe_external_id(item.external_id)
        batch.transcripts.append(item)
        batch.rows += len(item.lines)
        size += len(item.lines)
        if size >= BATCH_MESSAGES:
            window.acquire()
            yield _without_stored(batch, sessions)
            batch, size = Batch(), 0
    if batch.transcripts or batch.problems:
        window.acquire()
        yield _without_stored(batch, sessions)


def _without_stored(batch: Batch, sessions: sessionmaker[Session]) -> Batch:
    if not batch.transcripts:
        return batch
    keys = {(t.team, t.external_id) for t in batch.transcripts}
    with sessions() as session:
        stored = session.execute(
            select(Team.name, Conversation.external_id, Message.client_id)
            .join(Conversation, Conversation.team_id == Team.id)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(tuple_(Team.name, Conversation.external_id).in_(keys))
        ).all()
    known: dict[tuple[str, str], set[str]] = {}
    for team_name, external_id, client_id in stored:
        known.setdefault((team_name, external_id), set()).add(client_id)
    kept = []
    for transcript in batch.transcripts:
        ids = known.get((transcript.team, transcript.external_id), set())
        if transcript.lines and all(line.client_id in ids for line in transcript.lines):
            batch.skipped += len(transcript.lines)
        else:
            kept.append(transcript)
    batch.transcripts = kept
    return batch


# --- analysis ----------------------------------------------------------------------------------

_ENGINE: Engine | None = None
_ENGINE_KEY: tuple[Any, ...] | None = None


def _engine_spec(session: Session) -> tuple[list[str], dict[str, list[str]], str | None]:
    """What a worker needs to build the same engine the live server runs (the stored rules)."""
    texts = lexicon_store.rule_texts(session)
    if not texts:
        raise SourceError("the database has no rules: run `flask --app server init-db` first")
    return texts, lexicon_store.disabled_by_team(session), PIPELINE


def _init_worker(texts: list[str], disabled: dict[str, list[str]], pipeline: str | None) -> None:
    """Build the engine, unless this process already has one for exactly these rules (a
    compile takes seconds; repeated imports in one process reuse it)."""
    global _ENGINE, _ENGINE_KEY
    key = (tuple(texts), tuple(sorted((t, tuple(ids)) for t, ids in disabled.items())), pipeline)
    if _ENGINE is None or key != _ENGINE_KEY:
        _ENGINE = Engine(RuleCache().rules(texts), pipeline=pipeline, disabled=disabled)
        _ENGINE_KEY = key


def _work(batch: Batch) -> tuple[list[Analysed], Batch]:
    analysed = [analyse(_ENGINE, transcript) for transcript in batch.transcripts]
    batch.transcripts = []  # not sent back: the analysed copies carry them
    return analysed, batch


def _analysed(
    batches: Iterator[Batch], spec: tuple[Any, ...], processes: int
) -> Iterator[tuple[list[Analysed], Batch]]:
    _init_worker(*spec)  # built once, here: forked workers inherit it (their initializer
    if processes <= 1:  # finds it built for the same rules)
        yield from map(_work, batches)
        return
    # fork: workers start in milliseconds with the compiled engine; the parent has no threads
    # of its own running at this point (the CLI never starts the server's).
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_init_worker, initargs=spec) as pool:
        yield from pool.imap(_work, batches)


def analyse(engine: Engine, transcript: Transcript) -> Analysed:
    """Redact, then find what the live server would have found, message by message."""
    context = Context(team=transcript.team)
    findings = []
    for line in transcript.lines:
        line.text = redact(line.text)
        if line.role == "customer":
            found = engine.observe_customer(context, line.text)
        else:
            found = engine.review(line.text, context)
            engine.observe_agent(context, line.text)
        findings.append([{k: getattr(f, k) for k in FINDING_FIELDS} for f in found])
    return Analysed(transcript, findings)


# --- storing -------------------------------------------------------------------------------------


class _Store:
    def __init__(self, sessions: sessionmaker[Session], wait_seconds: float) -> None:
        self.sessions = sessions
        self.wait_seconds = wait_seconds
        self.team_ids: dict[str, int] = {}
        self.agents: dict[tuple[int, str], int | None] = {}
        self.now = datetime.now(UTC)

    def save(self, analysed: list[Analysed], report: ImportReport) -> None:
        """One transaction per batch; a concurrent import of the same conversations (the unique
        keys refuse the second insert) is retried, and then finds them stored."""
        for attempt in range(3):
            counts = ImportReport()
            try:
                with self.sessions.begin() as session:
                    self._save_batch(session, analysed, counts)
            except IntegrityError:
                self.team_ids.clear()
                if attempt == 2:
                    raise
                continue
            for name, value in counts.counts().items():
                setattr(report, name, getattr(report, name) + value)
            return

    def _save_batch(self, session: Session, analysed: list[Analysed], counts: ImportReport) -> None:
        """A few statements per batch (Core executemany), not a few per message."""
        keys = [
            (self._team_id(session, a.transcript.team), a.transcript.external_id) for a in analysed
        ]
        conversations = self._conversations(session, keys, analysed, counts)
        stored = self._stored_ids(session, [c[0] for c in conversations.values() if c[2]])
        rows: list[dict[str, Any]] = []
        found: list[list[dict[str, Any]]] = []
        for key, item in zip(keys, analysed, strict=True):
            conversation_id, last, existed = conversations[key]
            known = stored.setdefault(conversation_id, set())
            new = 0
            for line, findings in zip(item.transcript.lines, item.findings, strict=True):
                last = line.sent_at or last  # no time given: the one before it
                if line.client_id in known:
                    counts.already_stored += 1
                    continue
                known.add(line.client_id)
                rows.append(
                    fit(
                        Message,
                        conversation_id=conversation_id,
                        client_id=line.client_id,
                        author=line.role,
                        text=line.text,
                        sent_at=last,
                        stored_at=self.now,
                    )
                )
                found.append(findings)
                new += 1
            counts.messages += new
            counts.continued += int(existed and new > 0)
        if not rows:
            return
        # Plain executemany, no RETURNING (SQLite would insert row by row to keep the order):
        # only the few messages with findings need their ids, read back by key.
        session.execute(insert(Message.__table__), rows)  # Core: no per-row ORM work
        flagged = [(row, its) for row, its in zip(rows, found, strict=True) if its]
        if not flagged:
            return
        wanted = {(row["conversation_id"], row["client_id"]) for row, _ in flagged}
        ids = {
            (conversation_id, client_id): message_id
            for message_id, conversation_id, client_id in session.execute(
                select(Message.id, Message.conversation_id, Message.client_id).where(
                    tuple_(Message.conversation_id, Message.client_id).in_(wanted)
                )
            )
        }
        finding_rows = [
            fit(MessageFinding, message_id=ids[(row["conversation_id"], row["client_id"])], **f)
            for row, findings in flagged
            for f in findings
        ]
        session.execute(insert(MessageFinding.__table__), finding_rows)
        counts.findings += len(finding_rows)

    def _conversations(
        self,
        session: Session,
        keys: list[tuple[int, str]],
        analysed: list[Analysed],
        counts: ImportReport,
    ) -> dict[tuple[int, str], tuple[int, datetime, bool]]:
        """(id, start, existed before) for each key; the new ones are inserted."""
        found = {
            (team_id, external_id): (conversation_id, started, True)
            for team_id, external_id, conversation_id, started in session.execute(
                select(
                    Conversation.team_id,
                    Conversation.external_id,
                    Conversation.id,
                    Conversation.created_at,
                ).where(tuple_(Conversation.team_id, Conversation.external_id).in_(set(keys)))
            )
        }
        rows = {}
        for key, item in zip(keys, analysed, strict=True):
            if key not in found and key not in rows:
                rows[key] = self._conversation_row(session, key, item.transcript)
        if rows:
            session.execute(insert(Conversation.__table__), list(rows.values()))
            for team_id, external_id, conversation_id in session.execute(
                select(Conversation.team_id, Conversation.external_id, Conversation.id).where(
                    tuple_(Conversation.team_id, Conversation.external_id).in_(set(rows))
                )
            ):
                key = (team_id, external_id)
                found[key] = (conversation_id, rows[key]["created_at"], False)
            counts.conversations += len(rows)
        return found

    def _conversation_row(
        self, session: Session, key: tuple[int, str], transcript: Transcript
    ) -> dict[str, Any]:
        first = next((line.sent_at for line in transcript.lines if line.sent_at), None)
        agent_id = self._agent_id(session, key[0], transcript.agent)
        return fit(
            Conversation,
            team_id=key[0],
            external_id=key[1],
            agent_id=agent_id,
            # An export may name agents by e-mail: store the name as redacted as the texts.
            agent_name=redact(transcript.agent) if agent_id is None and transcript.agent else None,
            source="import",
            created_at=transcript.started or first or self.now,
        )

    def _stored_ids(self, session: Session, conversation_ids: list[int]) -> dict[int, set[str]]:
        stored: dict[int, set[str]] = {}
        if conversation_ids:
            rows = session.execute(
                select(Message.conversation_id, Message.client_id).where(
                    Message.conversation_id.in_(conversation_ids)
                )
            )
            for conversation_id, client_id in rows:
                stored.setdefault(conversation_id, set()).add(client_id)
        return stored

    def _team_id(self, session: Session, name: str) -> int:
        if name not in self.team_ids:
            self.team_ids[name] = accounts.get_or_create_team(session, name, self.wait_seconds).id
        return self.team_ids[name]

    def _agent_id(self, session: Session, team_id: int, name: str | None) -> int | None:
        """The agent account of this team with exactly this name, if there is one (only an
        agent's: a trainer or admin of the team is never made the agent of a conversation)."""
        if not name:
            return None
        key = (team_id, name)
        if key not in self.agents:
            ids = session.scalars(
                select(User.id)
                .where(User.team_id == team_id, User.name == name, User.role == "agent")
                .limit(2)
            ).all()
            self.agents[key] = ids[0] if len(ids) == 1 else None
        return self.agents[key]
