"""Validated rules remembered by their stored text, so a reload after one edit re-validates
one rule instead of all of them (5,000 rules: ~100 ms of validation and JSON decoding saved)."""

from __future__ import annotations

import json

from assistant.engine import LexiconError, Rule
from assistant.engine.lexicon import rule_from_dict

SOURCE = "database"


class RuleCache:
    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def rules(self, texts: list[str]) -> list[Rule]:
        """The Rule of each stored JSON text; raises LexiconError listing every broken one."""
        known, rules, problems = {}, [], []
        for text in texts:
            rule = self._rules.get(text)
            if rule is None:
                try:
                    rule = rule_from_dict(json.loads(text), source=SOURCE)
                except LexiconError as error:
                    problems.extend(error.problems)
                    continue
                except ValueError as error:  # not JSON at all
                    problems.append(f"{SOURCE}: a stored rule is not valid JSON: {error}")
                    continue
            known[text] = rule
            rules.append(rule)
        if problems:
            raise LexiconError(problems)
        self._rules = known  # forget rules that are gone
        return rules
