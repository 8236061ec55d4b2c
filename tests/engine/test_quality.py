"""Quality floors on the shared labelled data (skipped where ../shared is absent).

These guard against a lexicon edit that quietly stops catching cold phrasing or starts
nagging good replies; docs/quality.md has the full figures.
"""

from __future__ import annotations

import csv

import pytest

from assistant.engine import Engine
from assistant.engine.evaluation import read_phrase_tsv, score_phrases

from .conftest import REPO, SHARED

DEV_SET = SHARED / "dev" / "phrases-dev.tsv"
TURNS = SHARED / "data" / "sgd" / "turns.tsv"


@pytest.mark.skipif(not DEV_SET.exists(), reason=f"{DEV_SET} not found (../shared is absent)")
def test_dev_set_recall_and_false_flags(engine: Engine) -> None:
    score = score_phrases(engine, read_phrase_tsv(DEV_SET))
    assert score.recall >= 0.90, score.misses
    assert score.false_flag_rate <= 0.05, score.flagged_recommended


def test_own_probe_phrasings_regression(engine: Engine) -> None:
    score = score_phrases(engine, read_phrase_tsv(REPO / "tests" / "data" / "probes.tsv"))
    assert score.recall >= 0.95, score.misses
    # 17 of 231 are flagged on purpose today: contested lines such as "No worries" or
    # "Unfortunately, …, but I can …" that some sources recommend and others avoid.
    assert score.false_flag_rate <= 0.08, score.flagged_recommended


@pytest.mark.skipif(not TURNS.exists(), reason=f"{TURNS} not found (../shared is absent)")
def test_ordinary_service_replies_are_rarely_flagged(engine: Engine) -> None:
    with TURNS.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        replies = [r["utterance"] for r in rows if r["speaker"] == "SYSTEM"][:3000]
    flagged = [text for text in replies if engine.analyse(text)]
    assert len(flagged) / len(replies) <= 0.05, flagged[:20]
