"""The only path by which conversation data reaches the database.

The websocket handler hands records to a queue and goes straight back to analysing drafts; one
writer thread stores them in order and only then calls the record's `on_stored` (which sends the
`ack`). It stores everything queued (up to MAX_BATCH records) in one transaction: one commit for
many records is what lets one writer keep up with a thousand agents (one commit each managed
~600 records/s on PostgreSQL, far less under load). Callbacks run only after the commit. If the
database is unavailable (a transient error) the writer keeps retrying, so nothing is dropped and
nothing is acknowledged before it is on disk. If a batch fails for any other reason its records
are stored again one by one, each in its own transaction, so one bad record cannot sink the
others: a record the database refuses for good (bad data) is logged by its ids and dropped,
never acked (the client is told, `on_refused`), and cannot wedge the queue. Values are fitted
to their columns first (length, NUL characters). A foreign-key error on a conversation id the
writer had cached (a purge in another process deleted the conversation) makes it forget the
id and store the record or batch again, once, in a new conversation.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from .models import Conversation, Feedback, Message, MessageFinding, Nudge

log = logging.getLogger(__name__)

Callback = Callable[..., None]

CACHED_CONVERSATIONS = 10_000  # conversation ids the writer remembers (least recently used go)
# Records per transaction. A batch costs about eight database round trips whatever its size,
# and under gevent each round trip waits for the event loop's other work: when the loop is
# busy only a big batch keeps the writer ahead of 1,000 agents (~400 records/s).
MAX_BATCH = 500


@dataclass(frozen=True)
class ConversationKey:
    team_id: int
    external_id: str
    site: str | None = None
    agent_id: int | None = None


@dataclass
class StoreMessage:
    key: ConversationKey
    client_id: str
    author: str  # "customer" | "agent"
    text: str  # already redacted
    sent_at: datetime
    findings: list[dict[str, Any]] = field(default_factory=list)  # offsets into text
    nudge_outcomes: dict[str, bool] = field(default_factory=dict)  # nudge public id -> survived
    on_stored: Callback | None = None  # called with duplicate: bool
    on_refused: Callback | None = None  # called when the database refused it for good


@dataclass
class StoreNudge:
    key: ConversationKey
    public_id: str
    trigger: str  # "draft" | "waiting"
    finding: dict[str, Any]  # rule, category, question, severity, text (redacted)


@dataclass
class StoreFeedback:
    key: ConversationKey
    nudge_public_id: str
    action: str
    on_unknown: Callback | None = None  # called when the nudge does not exist


Record = StoreMessage | StoreNudge | StoreFeedback


class Writer:
    def __init__(self, sessions: sessionmaker[Session], max_queue: int = 10_000) -> None:
        self.sessions = sessions
        self.max_queue = max_queue
        # Unbounded: submit() bounds the records not yet stored, the writer's batch included.
        self.queue: queue.Queue[Record | None] = queue.Queue()
        self.thread: threading.Thread | None = None
        self._conversation_ids: OrderedDict[ConversationKey, int] = OrderedDict()
        self._stopping = False
        self._start_lock = threading.Lock()
        self._batch_keys: list[ConversationKey] | None = None  # cached during the open batch

    def start(self) -> None:
        if self.thread is not None:  # every record calls this: no lock once running
            return
        with self._start_lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="storage-writer", daemon=True)
                self.thread.start()

    def submit(self, record: Record) -> bool:
        """Queue a record without blocking; False when the queue is full (client should resend)."""
        self.start()
        # Queued plus taken by the writer and not yet stored (the batch): above the limit, the
        # client is told to resend later. (Read without a lock: a soft bound is enough.)
        if self.queue.unfinished_tasks > self.max_queue:
            return False
        self.queue.put_nowait(record)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Store what is queued (for up to timeout seconds), then stop the thread."""
        if self.thread is None:
            return
        self.queue.put(None)
        self.thread.join(timeout)
        self._stopping = True

    def pending(self) -> int:
        return self.queue.qsize()

    def _run(self) -> None:
        while True:
            record = self.queue.get()
            if record is None:
                return
            batch, stopping = [record], False
            while len(batch) < MAX_BATCH:
                try:
                    following = self.queue.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    stopping = True
                    break
                batch.append(following)
            if len(batch) == 1:
                self._store_with_retry(record)
            elif not self._store_batch_with_retry(batch):
                for each in batch:  # one bad record must not sink the others
                    self._store_with_retry(each)
            for _ in batch:
                self.queue.task_done()
            if stopping:
                return

    def _store_batch_with_retry(self, batch: list[Record]) -> bool:
        """Store the batch in one transaction, retrying while the database is unavailable;
        False (nothing stored, no callback called) if it failed for another reason."""
        delay, forgotten = 0.05, False
        while not self._stopping:
            try:
                callbacks = self._store_batch(batch)
            except Exception as error:
                if isinstance(error, IntegrityError) and not forgotten:
                    # A conversation purged since its id was cached (by another process) fails
                    # its foreign key: look the batch's conversations up again, once.
                    self._forget(batch)
                    forgotten = True
                    continue
                if not is_transient(error):
                    log.warning(
                        "a batch of %s records failed (%s); storing them one by one",
                        len(batch),
                        type(error).__name__,
                    )
                    return False
                log.warning(
                    "database unavailable, retrying in %.2fs: %s", delay, type(error).__name__
                )
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            for callback, kwargs in callbacks:  # acks only once everything is committed
                _safely(callback, **kwargs)
            return True
        return False

    def _store_batch(self, batch: list[Record]) -> list[tuple[Callback, dict[str, Any]]]:
        """A handful of round trips and bulk inserts for the whole batch, not several ORM
        flushes per record: under gevent each round trip waits for every other greenlet's
        turn, and the ORM's unit of work was a third of a loaded worker's CPU (bench/load)."""
        callbacks: list[tuple[Callback, dict[str, Any]]] = []
        self._batch_keys = []
        try:
            with self.sessions() as session:
                ids = [self._conversation_id(session, record.key) for record in batch]
                stored = self._stored_ids(session, batch, ids)
                messages: list[tuple[StoreMessage, int]] = []
                nudges, feedback = [], []
                for record, conversation_id in zip(batch, ids, strict=True):
                    if isinstance(record, StoreMessage):
                        duplicate = (conversation_id, record.client_id) in stored
                        if not duplicate:
                            stored.add((conversation_id, record.client_id))
                            messages.append((record, conversation_id))
                        if record.on_stored:
                            callbacks.append((record.on_stored, {"duplicate": duplicate}))
                    elif isinstance(record, StoreNudge):
                        nudges.append(_nudge_row(conversation_id, record))
                    else:
                        feedback.append((record, conversation_id))
                message_ids = self._insert_messages(session, messages)
                if nudges:
                    session.execute(insert(Nudge), nudges)
                self._set_outcomes(session, messages, message_ids)
                for record, conversation_id in feedback:  # after the nudges they are about
                    if not self._add_feedback(session, conversation_id, record):
                        callbacks.extend((c, {}) for c in [record.on_unknown] if c)
                session.commit()
        except BaseException:
            # Conversations created in the failed transaction do not exist: forget their ids.
            for key in self._batch_keys:
                self._conversation_ids.pop(key, None)
            raise
        finally:
            self._batch_keys = None
        return callbacks

    def _insert_messages(
        self, session: Session, messages: list[tuple[StoreMessage, int]]
    ) -> list[int]:
        """Multi-row inserts of the messages and their findings; the messages' ids."""
        if not messages:
            return []
        rows = [
            fit(
                Message,
                conversation_id=conversation_id,
                client_id=record.client_id,
                author=record.author,
                text=record.text,
                sent_at=record.sent_at,
            )
            for record, conversation_id in messages
        ]
        returning = insert(Message).returning(Message.id, sort_by_parameter_order=True)
        message_ids = session.scalars(returning, rows).all()
        findings = [
            fit(MessageFinding, message_id=message_id, **_finding_columns(finding))
            for (record, _), message_id in zip(messages, message_ids, strict=True)
            for finding in record.findings
        ]
        if findings:
            session.execute(insert(MessageFinding), findings)
        return list(message_ids)

    def _set_outcomes(
        self, session: Session, messages: list[tuple[StoreMessage, int]], message_ids: list[int]
    ) -> None:
        """Which nudges each message kept or fixed, in one executemany."""
        outcomes = [
            {"p": public_id, "c": conversation_id, "m": message_id, "s": survived}
            for (record, conversation_id), message_id in zip(messages, message_ids, strict=True)
            for public_id, survived in record.nudge_outcomes.items()
        ]
        if outcomes:
            session.execute(_SET_OUTCOME, outcomes)

    def _stored_ids(
        self, session: Session, batch: list[Record], ids: list[int]
    ) -> set[tuple[int, str]]:
        """(conversation id, client id) of the batch's messages already stored (resends)."""
        wanted = {
            (conversation_id, record.client_id)
            for record, conversation_id in zip(batch, ids, strict=True)
            if isinstance(record, StoreMessage)
        }
        if not wanted:
            return set()
        rows = session.execute(
            select(Message.conversation_id, Message.client_id).where(
                Message.conversation_id.in_({c for c, _ in wanted}),
                Message.client_id.in_({m for _, m in wanted}),
            )
        )
        return {(c, m) for c, m in rows if (c, m) in wanted}

    def _store_with_retry(self, record: Record) -> None:
        delay = 0.05
        while not self._stopping:
            try:
                self._store(record)
                return
            except Exception as error:
                if not is_transient(error):
                    # Bad data or a bug must not wedge the queue: no ack, the log names ids only
                    # (records carry customer text).
                    log.error("%s dropped: %s", describe(record), type(error).__name__)
                    if isinstance(record, StoreMessage) and record.on_refused:
                        _safely(record.on_refused)
                    return
                log.warning(
                    "database unavailable, retrying in %.2fs: %s", delay, type(error).__name__
                )
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _forget(self, records: list[Record]) -> None:
        for record in records:
            self._conversation_ids.pop(record.key, None)

    def _store(self, record: Record) -> None:
        cached = record.key in self._conversation_ids
        try:
            self._store_once(record)
        except IntegrityError:
            if not cached:
                raise
            # The cached conversation may have been purged (by another process) since: the
            # foreign key fails. Forget its id and store again, once, in a new conversation.
            self._forget([record])
            self._store_once(record)

    def _store_once(self, record: Record) -> None:
        with self.sessions() as session:
            conversation_id = self._conversation_id(session, record.key)
            if isinstance(record, StoreMessage):
                duplicate = self._store_message(session, conversation_id, record)
                if record.on_stored:
                    _safely(record.on_stored, duplicate=duplicate)
            elif isinstance(record, StoreNudge):
                self._store_nudge(session, conversation_id, record)
            else:
                self._store_feedback(session, conversation_id, record)

    def _conversation_id(self, session: Session, key: ConversationKey) -> int:
        cached = self._conversation_ids.get(key)
        if cached is not None:
            self._conversation_ids.move_to_end(key)
            return cached
        where = (Conversation.team_id == key.team_id, Conversation.external_id == key.external_id)
        found = session.scalar(select(Conversation.id).where(*where))
        if found is None and self._batch_keys is not None:
            # In a batch: created with the batch's commit; a clash with another worker fails
            # the batch, and the records are stored one by one (below).
            found = self._add_conversation(session, key)
            self._batch_keys.append(key)
        elif found is None:
            try:
                found = self._add_conversation(session, key)
                session.commit()
            except IntegrityError:  # another worker created it first
                session.rollback()
                found = session.scalar(select(Conversation.id).where(*where))
        self._conversation_ids[key] = found
        if len(self._conversation_ids) > CACHED_CONVERSATIONS:
            self._conversation_ids.popitem(last=False)
        return found

    def _add_conversation(self, session: Session, key: ConversationKey) -> int:
        conversation = Conversation(
            **fit(
                Conversation,
                team_id=key.team_id,
                external_id=key.external_id,
                site=key.site,
                agent_id=key.agent_id,
            )
        )
        session.add(conversation)
        session.flush()
        return conversation.id

    def _store_message(self, session: Session, conversation_id: int, record: StoreMessage) -> bool:
        """Store the message once; True if it was already stored (a resend)."""
        try:
            duplicate = self._add_message(session, conversation_id, record)
        except IntegrityError:
            session.rollback()
            if self._message_exists(session, conversation_id, record.client_id):
                return True  # stored meanwhile by another worker
            raise
        session.commit()
        return duplicate

    def _add_message(self, session: Session, conversation_id: int, record: StoreMessage) -> bool:
        """Add the message to the transaction unless it is stored already (then True)."""
        existing = session.scalar(
            select(Message.id).where(
                Message.conversation_id == conversation_id, Message.client_id == record.client_id
            )
        )
        if existing is not None:
            return True
        message = self._new_message(conversation_id, record)
        session.add(message)
        session.flush()  # a clash with a copy stored by another worker shows here
        for public_id, survived in record.nudge_outcomes.items():
            session.execute(
                update(Nudge)
                .where(Nudge.public_id == public_id, Nudge.conversation_id == conversation_id)
                .values(message_id=message.id, survived=survived)
            )
        return False

    def _new_message(self, conversation_id: int, record: StoreMessage) -> Message:
        message = Message(
            **fit(
                Message,
                conversation_id=conversation_id,
                client_id=record.client_id,
                author=record.author,
                text=record.text,
                sent_at=record.sent_at,
            )
        )
        message.findings = [
            MessageFinding(**fit(MessageFinding, **_finding_columns(f))) for f in record.findings
        ]
        return message

    def _message_exists(self, session: Session, conversation_id: int, client_id: str) -> bool:
        found = session.scalar(
            select(Message.id).where(
                Message.conversation_id == conversation_id, Message.client_id == client_id
            )
        )
        return found is not None

    def _store_nudge(self, session: Session, conversation_id: int, record: StoreNudge) -> None:
        self._add_nudge(session, conversation_id, record)
        session.commit()

    def _add_nudge(self, session: Session, conversation_id: int, record: StoreNudge) -> None:
        session.add(Nudge(**_nudge_row(conversation_id, record)))

    def _store_feedback(self, session: Session, conversation_id: int, record: StoreFeedback):
        if not self._add_feedback(session, conversation_id, record):
            if record.on_unknown:
                _safely(record.on_unknown)
            return
        session.commit()

    def _add_feedback(self, session: Session, conversation_id: int, record: StoreFeedback) -> bool:
        """Add the feedback to the transaction; False if the nudge does not exist."""
        nudge_id = session.scalar(
            select(Nudge.id).where(
                Nudge.public_id == record.nudge_public_id, Nudge.conversation_id == conversation_id
            )
        )
        if nudge_id is None:
            return False
        session.add(Feedback(nudge_id=nudge_id, action=record.action))
        return True


# Which nudges the agent's message kept or fixed, for a whole batch in one executemany.
_nudges = Nudge.__table__
_SET_OUTCOME = (
    update(_nudges)
    .where(_nudges.c.public_id == bindparam("p"), _nudges.c.conversation_id == bindparam("c"))
    .values(message_id=bindparam("m"), survived=bindparam("s"))
)


def is_transient(error: BaseException) -> bool:
    """A database that is down, restarting or busy: worth retrying (bad data is not)."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def describe(record: Record) -> str:
    """A record by its ids only, for logs (no customer text, names or quotes)."""
    key = record.key
    where = f"team {key.team_id} conversation {key.external_id!r}"
    if isinstance(record, StoreMessage):
        return f"message {record.client_id!r} ({where})"
    if isinstance(record, StoreNudge):
        return f"nudge {record.public_id} ({where})"
    return f"feedback on {record.nudge_public_id} ({where})"


def fit(model: type, **values: Any) -> dict[str, Any]:
    """Values cut to their column's length, without NUL characters (PostgreSQL text refuses
    them): a long rule category or a pasted binary must not make a message unstorable."""
    columns = model.__table__.columns
    fitted = {}
    for name, value in values.items():
        if isinstance(value, str):
            value = value.replace("\x00", "\ufffd")  # same length: finding offsets still hold
            length = getattr(columns[name].type, "length", None)
            if length:
                value = value[:length]
        fitted[name] = value
    return fitted


def _nudge_row(conversation_id: int, record: StoreNudge) -> dict[str, Any]:
    finding = record.finding
    return fit(
        Nudge,
        public_id=record.public_id,
        conversation_id=conversation_id,
        trigger=record.trigger,
        rule=finding["rule"],
        category=finding["category"],
        question=finding["question"],
        severity=finding["severity"],
        text=finding.get("text", ""),
    )


def _finding_columns(finding: dict[str, Any]) -> dict[str, Any]:
    names = ("rule", "category", "question", "severity", "start", "end", "text")
    return {name: finding[name] for name in names if name in finding}


def _safely(callback: Callback, **kwargs: Any) -> None:
    try:
        callback(**kwargs)
    except Exception:  # the client went away; what matters (storing) is done
        log.debug("callback failed", exc_info=True)
