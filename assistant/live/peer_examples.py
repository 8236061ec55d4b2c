"""Peer examples offered in nudges: "How a teammate put it".

A trainer marks a teammate's reply as a good example for a rule, or for a checklist question
(PeerExample rows, see storage/models.py). When a nudge for that rule (or, with no example for the
rule, for that question) goes to an agent of the same team, its item carries one example.

Lookups never touch the database: each server process keeps every team's active examples in
memory and a background thread reloads them all every few seconds (one small query: examples are
curated by hand, so there are few), so a new example is offered within seconds without a query per
draft. While the database is down the last examples loaded stay on offer.
"""

from __future__ import annotations

import logging
import threading
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from assistant.storage.models import PeerExample

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0


@dataclass(frozen=True)
class Example:
    id: int
    text: str


@dataclass
class TeamExamples:
    by_rule: dict[str, list[Example]]
    by_question: dict[int, list[Example]]


class PeerExamples:
    """Every team's active examples, reloaded in the background every `refresh` seconds."""

    def __init__(self, sessions: sessionmaker[Session], refresh: float = REFRESH_SECONDS) -> None:
        self.sessions = sessions
        self.refresh = refresh
        self.teams: dict[int, TeamExamples] = {}  # replaced whole: readers need no lock
        self.loaded = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._poll, name="peer-examples", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def pick(self, team_id: int, rule: str, question: int, key: str) -> Example | None:
        """One of the team's examples for this rule, else for this question; `key` (the nudge's
        id) chooses among several, so a nudge keeps its example while the agent types and
        different nudges rotate through them."""
        self.ensure_started()
        team = self.teams.get(team_id)
        if team is None:
            return None
        candidates = team.by_rule.get(rule) or team.by_question.get(question)
        if not candidates:
            return None
        return candidates[zlib.crc32(key.encode()) % len(candidates)]

    def reload(self) -> None:
        """Load every team's active examples; raises when the database fails (keeping the old)."""
        teams: dict[int, TeamExamples] = {}
        with self.sessions() as session:
            rows = session.execute(
                select(
                    PeerExample.id,
                    PeerExample.team_id,
                    PeerExample.rule,
                    PeerExample.question,
                    PeerExample.text,
                )
                .where(PeerExample.active.is_(True))
                .order_by(PeerExample.id)
            )
            for example_id, team_id, rule, question, text in rows:
                team = teams.setdefault(team_id, TeamExamples({}, {}))
                example = Example(example_id, text)
                if rule:
                    team.by_rule.setdefault(rule, []).append(example)
                elif question is not None:
                    team.by_question.setdefault(question, []).append(example)
        self.teams = teams
        self.loaded.set()

    def _poll(self) -> None:
        while True:
            try:
                self.reload()
            except Exception:  # database down: keep offering the last examples loaded
                log.warning("could not reload peer examples; keeping the last ones", exc_info=True)
            if self._stop.wait(self.refresh):
                return


# One cache per database (a runtime's session factory): tests run several apps in one process.
_CACHES: dict[int, PeerExamples] = {}
_CACHES_LOCK = threading.Lock()


def cache_for(sessions: sessionmaker[Session]) -> PeerExamples:
    cache = _CACHES.get(id(sessions))
    if cache is None:
        with _CACHES_LOCK:
            cache = _CACHES.get(id(sessions))
            if cache is None:
                cache = _CACHES[id(sessions)] = PeerExamples(sessions)
    return cache


def stop_for(sessions: sessionmaker[Session]) -> None:
    """Stop the database's reloading thread and forget its examples (Runtime.stop)."""
    with _CACHES_LOCK:
        cache = _CACHES.pop(id(sessions), None)
    if cache is not None:
        cache.stop()


def offer_peer_example(
    sessions: sessionmaker[Session], team_id: int, item: dict[str, Any]
) -> dict[str, Any]:
    """The nudge item, with "peer_example": {"id", "text"} when the team has one for it."""
    example = cache_for(sessions).pick(team_id, item["rule"], item["question"], item["id"])
    if example is not None:
        item["peer_example"] = {"id": example.id, "text": example.text}
    return item
