"""Every entry in lexicons/ must catch its `flags:` examples and pass its `passes:` ones."""

from __future__ import annotations

import pytest

from assistant.engine import load_rules

from .conftest import LEXICONS

RULES = load_rules(LEXICONS)
CASES = [(r.id, "flags", s) for r in RULES for s in r.flags] + [
    (r.id, "passes", s) for r in RULES for s in r.passes
]


@pytest.mark.parametrize(("rule_id", "kind", "sentence"), CASES)
def test_example(engine, rule_id: str, kind: str, sentence: str) -> None:
    matched = rule_id in engine.matching_rules(sentence)
    assert matched == (kind == "flags"), f"{rule_id} should {'flag' if kind == 'flags' else 'pass'}"


def test_default_lexicons_cover_the_field() -> None:
    agent = [r for r in RULES if r.role == "agent"]
    assert len(agent) >= 150
    assert {r.question for r in agent} == {1, 2, 3, 4, 5}
    assert {r.role for r in RULES} == {"agent", "customer", "acknowledgement", "conversation"}
    for rule in RULES:
        if rule.role != "conversation":
            assert rule.flags and rule.passes, f"{rule.id} needs examples both ways"


def test_customer_feelings_cover_the_five_feelings() -> None:
    feelings = {r.category for r in RULES if r.role == "customer"}
    assert {"frustration", "worry", "disappointment", "urgency", "confusion"} <= feelings
