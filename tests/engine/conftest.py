from __future__ import annotations

from pathlib import Path

import pytest

from assistant.engine import Engine, load_rules, rules_from_dicts

REPO = Path(__file__).resolve().parents[2]
LEXICONS = REPO / "lexicons"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The engine over the repository's default lexicons."""
    return Engine(load_rules(LEXICONS))


def make_rule(**overrides) -> dict:
    """A valid rule entry; tests override the field they are about."""
    entry = {
        "id": "test-rule",
        "patterns": ["calm down"],
        "category": "condescension",
        "question": 2,
        "severity": "warning",
        "message": "How would you feel being told to calm down?",
        "suggestions": ["I can hear how frustrating this is{, name}."],
        "examples": {"flags": ["Please calm down."], "passes": ["The sea is calm."]},
    }
    entry.update(overrides)
    return entry


def engine_of(*entries: dict) -> Engine:
    return Engine(rules_from_dicts(entries, source="test.yml"))
