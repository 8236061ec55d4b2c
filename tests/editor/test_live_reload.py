"""The live reload after an edit: only changed rules are validated again, and a broken rule
written behind the editor's back never reaches the live matcher."""

from __future__ import annotations

import json

from assistant.editor import rules
from assistant.live.lexicons import Lexicons
from assistant.live.rule_cache import RuleCache
from assistant.storage import lexicon_store
from assistant.storage.db import make_engine, make_session_factory, migrate
from assistant.storage.models import LexiconRule

from .conftest import TEAM_RULE, TEST_LEXICONS


def test_rule_cache_revalidates_only_changed_texts() -> None:
    cache = RuleCache()
    texts = [json.dumps(TEAM_RULE), json.dumps({**TEAM_RULE, "id": "other"})]
    first = cache.rules(texts)
    again = cache.rules([texts[0], json.dumps({**TEAM_RULE, "id": "other", "question": 4})])
    assert again[0] is first[0]  # unchanged: the same validated Rule, not validated again
    assert again[1] is not first[1] and again[1].question == 4


def test_a_broken_stored_rule_never_reaches_the_live_matcher(database_url: str) -> None:
    db = make_engine(database_url)
    migrate(db)
    sessions = make_session_factory(db)
    with sessions.begin() as session:
        lexicon_store.import_directory(session, TEST_LEXICONS)
    lexicons = Lexicons(sessions, TEST_LEXICONS, poll_seconds=3600)
    lexicons.ensure_started()
    lexicons.stop()
    with sessions.begin() as session:
        rules.save(session, dict(TEAM_RULE), rules.CLI)
    assert lexicons.check_now()
    engine = lexicons.engine
    assert [f.rule for f in engine.analyse("There are no refunds.", team="support")] == [
        "team-no-refunds"
    ]
    with sessions.begin() as session:  # behind the editor's back: question 9 is invalid
        session.add(LexiconRule(rule_id="broken", data={**TEAM_RULE, "id": "broken",
                                                         "team": None, "question": 9}))  # fmt: skip
        version = lexicon_store.bump_version(session)
    assert not lexicons.check_now()
    assert lexicons.engine is engine and lexicons.rejected_version == version
    db.dispose()
