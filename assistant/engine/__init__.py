"""The analysis engine: spaCy rules compiled from the lexicons, plus conversation context.

Public API (see docs/lexicons.md for the rule format):

    rules = load_rules("lexicons")
    engine = Engine(rules)
    engine.analyse("We apologize for any inconvenience.")   # -> [Finding, ...]
"""

from .context import Context
from .engine import Engine, load_pipeline
from .findings import QUESTIONS, Finding
from .lexicon import (
    LexiconError,
    Rule,
    dump_rules,
    load_rules,
    parse_lexicon_text,
    rules_from_dicts,
)

__all__ = [
    "QUESTIONS",
    "Context",
    "Engine",
    "Finding",
    "LexiconError",
    "Rule",
    "dump_rules",
    "load_pipeline",
    "load_rules",
    "parse_lexicon_text",
    "rules_from_dicts",
]
