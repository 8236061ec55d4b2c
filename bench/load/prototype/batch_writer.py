"""MEASUREMENT PROTOTYPE of a change proposed for assistant/storage/writer.py (not used by the
server unless a benchmark config installs it): the storage writer stores everything queued, up
to MAX_BATCH records, in one transaction, and only then sends the acks.

Why: one commit (and several round trips) per record caps the writer at ~600 records/s on
PostgreSQL with nothing else running, and far less under load, when every round trip waits
for the GIL or the event loop again. 1,000 agents send ~400 messages and nudges a second.
"""

from __future__ import annotations

import queue
import threading

from assistant.storage import writer as storage

MAX_BATCH = 500


def _run(self: storage.Writer) -> None:
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
        try:
            self._store_batch(batch)
        except Exception:  # one bad record must not sink the others: store them one by one
            for each in batch:
                self._store_with_retry(each)
        if stopping:
            return


def _store_batch(self: storage.Writer, batch: list) -> None:
    acks = []
    with self.sessions() as session:
        commit = session.commit
        session.commit = session.flush  # the per-record commits become flushes: one commit
        for record in batch:
            conversation_id = self._conversation_id(session, record.key)
            if isinstance(record, storage.StoreMessage):
                duplicate = self._store_message(session, conversation_id, record)
                if record.on_stored:
                    acks.append((record.on_stored, duplicate))
            elif isinstance(record, storage.StoreNudge):
                self._store_nudge(session, conversation_id, record)
            else:
                self._store_feedback(session, conversation_id, record)
        commit()
    for on_stored, duplicate in acks:  # acks only once everything is on disk
        storage._safely(on_stored, duplicate=duplicate)


def _start(self: storage.Writer) -> None:
    if self.thread is None:  # no lock taken per record once the thread runs
        with self._start_lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="storage-writer", daemon=True)
                self.thread.start()


def install() -> None:
    storage.Writer._run = _run
    storage.Writer._store_batch = _store_batch
    storage.Writer.start = _start
