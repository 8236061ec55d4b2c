"""The process's current Engine, rebuilt when the rules in the database change.

Every process polls the lexicon version row (about once a second); a change rebuilds the Engine
off to the side and swaps the reference, so drafts keep being analysed by the old engine until the
new one is ready. A rule set that fails to compile is logged and never replaces a good engine.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from assistant.engine import Engine, LexiconError, load_rules
from assistant.storage import lexicon_store

from .rule_cache import RuleCache

log = logging.getLogger(__name__)

# A trained spaCy pipeline (e.g. en_core_web_sm) for rules that need part-of-speech; none
# is needed by default.
PIPELINE = os.environ.get("EMPATHY_SPACY_PIPELINE") or None


class Lexicons:
    def __init__(
        self, sessions: sessionmaker[Session], fallback_dir: str | Path, poll_seconds: float = 1.0
    ) -> None:
        self.sessions = sessions
        self.fallback_dir = Path(fallback_dir)
        self.poll_seconds = poll_seconds
        self.engine: Engine | None = None
        self.version = 0  # the version `engine` was built from
        self.rule_count = 0
        self.rejected_version: int | None = None
        self._validated = RuleCache()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Called (on the poll thread) after a new engine is swapped in: open connections
        # sleep until something happens, and a lexicon change is something.
        self.listeners: set[Callable[[], None]] = set()

    def ensure_started(self) -> Engine:
        """Build the first engine (blocking, once) and start polling for changes."""
        if self.engine is not None and self._thread is not None:
            return self.engine  # started: never wait for a reload in progress (it holds the lock)
        with self._lock:
            if self.engine is None and not self._reload():
                log.error("stored rules are unusable; serving lexicons from %s", self.fallback_dir)
                rules = load_rules(self.fallback_dir)
                self.engine, self.rule_count = Engine(rules, pipeline=PIPELINE), len(rules)
            if self._thread is None:
                self._thread = threading.Thread(target=self._poll, name="lexicon-poll", daemon=True)
                self._thread.start()
            return self.engine

    def stop(self) -> None:
        self._stop.set()

    def check_now(self) -> bool:
        """Rebuild if the stored version changed; True when a new engine was swapped in."""
        with self._lock:
            return self._reload()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.check_now()
                self._renew_if_full()
            except Exception:  # a database blip must not end polling
                log.warning("lexicon poll failed", exc_info=True)

    def _renew_if_full(self) -> None:
        """spaCy's vocabulary keeps every word it has seen; past a limit, rebuild on a fresh
        one (off the lock: drafts keep using the current engine until the swap)."""
        engine = self.engine
        if engine is None or not engine.vocabulary_full:
            return
        renewed = engine.renewed()
        with self._lock:
            if self.engine is engine:  # no lexicon change slipped in meanwhile
                self.engine = renewed
                log.info("engine renewed on a fresh vocabulary")

    def _reload(self) -> bool:
        with self.sessions() as session:
            version = lexicon_store.current_version(session)
            if version in (self.version, self.rejected_version) and self.engine is not None:
                return False
            rule_texts = lexicon_store.rule_texts(session)
            disabled = lexicon_store.disabled_by_team(session)
        try:
            rules = self._validated.rules(rule_texts)  # only new or edited rules are validated
            engine = (  # an edit recompiles only the changed rules (Engine.updated)
                self.engine.updated(rules, disabled)
                if self.engine is not None
                else Engine(rules, pipeline=PIPELINE, disabled=disabled)
            )
        except LexiconError as error:
            log.error(
                "lexicon version %s rejected, keeping version %s: %s", version, self.version, error
            )
            self.rejected_version = version
            return False
        self.engine, self.version, self.rule_count = engine, version, len(rules)
        log.info("lexicon version %s loaded (%s rules)", version, len(rules))
        for listener in list(self.listeners):
            listener()
        return True
