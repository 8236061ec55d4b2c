"""Every rule carries examples; this checks that the compiled rule honours them."""

from __future__ import annotations

from .engine import Engine


def example_failures(engine: Engine) -> list[str]:
    """One line per example the rule gets wrong (empty when every example holds)."""
    failures = []
    for rule in engine.rules.values():
        for sentence in rule.flags:
            if rule.key not in engine.matching_rules(sentence):
                failures.append(f"{rule.source}: rule {rule.id!r}: should flag {sentence!r}")
        for sentence in rule.passes:
            if rule.key in engine.matching_rules(sentence):
                failures.append(f"{rule.source}: rule {rule.id!r}: should pass {sentence!r}")
    return failures
