"""Lexicon files: loading and validating rules (the format is docs/lexicons.md).

Validation happens here, before anything is compiled, so a broken entry is reported
with its file and id and never reaches a live matcher.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .findings import SEVERITIES
from .phrases import PhraseSyntaxError, parse_phrase

ROLES = ("agent", "customer", "acknowledgement", "conversation", "empowerment")
# Roles whose entries need no patterns or examples: conversation nudges are triggered by the
# engine; an empowerment without situations applies to every conversation.
PATTERN_OPTIONAL_ROLES = ("conversation", "empowerment")
SCOPES = ("anywhere", "start", "whole")
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")

TOKEN_KEYS = {
    "ORTH", "TEXT", "LOWER", "LEMMA", "NORM", "LENGTH", "IS_ALPHA", "IS_ASCII", "IS_DIGIT",
    "IS_LOWER", "IS_UPPER", "IS_TITLE", "IS_PUNCT", "IS_SPACE", "IS_STOP", "IS_SENT_START",
    "LIKE_NUM", "LIKE_EMAIL", "LIKE_URL", "SHAPE", "OP",
}  # fmt: skip
TRAINED_TOKEN_KEYS = {"POS", "TAG", "DEP", "MORPH"}
REFUSED_OPERATORS = {"REGEX", "FUZZY"}  # unbounded cost: a rule must never hang the server
MAX_PATTERN_TOKENS = 12
MAX_WILDCARDS = 2

KNOWN_FIELDS = {
    "id", "role", "patterns", "tokens", "category", "question", "severity", "message",
    "suggestions", "exceptions", "examples", "scope", "enabled", "team",
}  # fmt: skip


class LexiconError(ValueError):
    """One or more broken entries; str() names each file, rule and problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    question: int
    message: str
    suggestions: tuple[str, ...]
    role: str = "agent"
    severity: str = "suggestion"
    patterns: tuple[str, ...] = ()
    tokens: tuple[tuple[dict, ...], ...] = ()
    exceptions: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    passes: tuple[str, ...] = ()
    scope: str = "anywhere"
    enabled: bool = True
    team: str | None = None
    source: str = "?"

    @property
    def key(self) -> str:
        """Unique within an engine: a team's rule may share its id with a global one."""
        return self.id if self.team is None else f"{self.id}@{self.team}"

    @property
    def needs_trained_pipeline(self) -> bool:
        return any(
            key in TRAINED_TOKEN_KEYS for pattern in self.tokens for t in pattern for key in t
        )

    def to_dict(self) -> dict[str, Any]:
        """The YAML-entry form of this rule (what a lexicon file or the database holds)."""
        entry: dict[str, Any] = {"id": self.id, "role": self.role}
        if self.patterns:
            entry["patterns"] = list(self.patterns)
        if self.tokens:
            entry["tokens"] = [list(pattern) for pattern in self.tokens]
        entry |= {
            "category": self.category,
            "question": self.question,
            "severity": self.severity,
            "message": self.message,
            "suggestions": list(self.suggestions),
        }
        if self.exceptions:
            entry["exceptions"] = list(self.exceptions)
        if self.scope != "anywhere":
            entry["scope"] = self.scope
        if not self.enabled:
            entry["enabled"] = False
        if self.team:
            entry["team"] = self.team
        if self.flags or self.passes:
            entry["examples"] = {"flags": list(self.flags), "passes": list(self.passes)}
        return entry


def _strings(value: Any, name: str, problems: list[str], required: bool = False) -> tuple[str, ...]:
    if value is None:
        value = []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{name} must be a list of non-empty strings")
        return ()
    if required and not value:
        problems.append(f"{name} needs at least one entry")
    return tuple(value)


def _check_token_value(key: str, value: Any, problems: list[str]) -> None:
    if isinstance(value, Mapping):
        refused = REFUSED_OPERATORS & set(value)
        if refused:
            problems.append(f"{key} uses {sorted(refused)[0]}, which is refused (unbounded cost)")


def _check_token_pattern(pattern: Any, index: int, problems: list[str]) -> tuple[dict, ...]:
    where = f"tokens[{index}]"
    if not isinstance(pattern, list) or not pattern:
        problems.append(f"{where} must be a non-empty list of token dicts")
        return ()
    if len(pattern) > MAX_PATTERN_TOKENS:
        problems.append(f"{where} has {len(pattern)} tokens; at most {MAX_PATTERN_TOKENS}")
    wildcards = 0
    for token in pattern:
        if not isinstance(token, Mapping):
            problems.append(f"{where}: each token must be a mapping, got {token!r}")
            return ()
        for key, value in token.items():
            if key not in TOKEN_KEYS | TRAINED_TOKEN_KEYS:
                problems.append(f"{where}: unknown or refused token key {key!r}")
            _check_token_value(key, value, problems)
        if token.get("OP") in ("*", "+"):
            wildcards += 1
    if wildcards > MAX_WILDCARDS:
        problems.append(f"{where} has {wildcards} '*'/'+' operators; at most {MAX_WILDCARDS}")
    return tuple(dict(token) for token in pattern)


def _check_choice(entry: Mapping, problems: list[str]) -> tuple[int, str, str, str]:
    question = entry.get("question")
    if not isinstance(question, int) or isinstance(question, bool) or not 1 <= question <= 5:
        problems.append(f"question must be 1-5, got {question!r}")
        question = 1
    severity = entry.get("severity", "suggestion")
    if severity not in SEVERITIES:
        problems.append(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    role = entry.get("role", "agent")
    if role not in ROLES:
        problems.append(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    scope = entry.get("scope", "anywhere")
    if scope not in SCOPES:
        problems.append(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    return question, severity, role, scope


def _check_text(entry: Mapping, key: str, problems: list[str]) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{key} must be a non-empty string")
        return ""
    return value.strip()


def _check_patterns(entry: Mapping, role: str, problems: list[str]) -> tuple[tuple, tuple]:
    patterns = _strings(entry.get("patterns"), "patterns", problems)
    for phrase in patterns + _strings(entry.get("exceptions"), "exceptions", []):
        try:
            parse_phrase(phrase)
        except PhraseSyntaxError as error:
            problems.append(str(error))
    raw_tokens = entry.get("tokens") or []
    if not isinstance(raw_tokens, list):
        problems.append("tokens must be a list of token patterns")
        raw_tokens = []
    tokens = tuple(_check_token_pattern(p, i, problems) for i, p in enumerate(raw_tokens))
    if role not in PATTERN_OPTIONAL_ROLES and not patterns and not tokens:
        problems.append("needs at least one of patterns or tokens")
    return patterns, tokens


def _check_examples(entry: Mapping, role: str, problems: list[str]) -> tuple[tuple, tuple]:
    examples = entry.get("examples") or {}
    if not isinstance(examples, Mapping):
        problems.append("examples must be a mapping with flags and passes")
        return (), ()
    needed = role not in PATTERN_OPTIONAL_ROLES
    flags = _strings(examples.get("flags"), "examples.flags", problems, required=needed)
    passes = _strings(examples.get("passes"), "examples.passes", problems, required=needed)
    return flags, passes


def rule_from_dict(entry: Any, source: str = "?", defaults: Mapping | None = None) -> Rule:
    """Validate one entry (with its file's defaults) and build a Rule, or raise LexiconError."""
    if not isinstance(entry, Mapping):
        raise LexiconError([f"{source}: every rule must be a mapping, got {type(entry).__name__}"])
    entry = {**(defaults or {}), **entry}
    if entry.get("role") == "empowerment":  # a lead lists offers, not checklist nudges
        entry = {"question": 3, "category": "empowerment", "suggestions": [], **entry}
    rule_id = entry.get("id")
    label = f"{source}: rule {rule_id!r}"
    problems: list[str] = []
    if not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        problems.append(
            "id must be lowercase letters, digits and '-' (at most 80), e.g. 'calm-down'"
        )
    unknown = sorted(set(entry) - KNOWN_FIELDS)
    if unknown:
        problems.append(f"unknown field(s): {', '.join(unknown)}")
    question, severity, role, scope = _check_choice(entry, problems)
    category = _check_text(entry, "category", problems)
    message = _check_text(entry, "message", problems)
    suggestions = _strings(
        entry.get("suggestions"), "suggestions", problems, required=role != "empowerment"
    )
    exceptions = _strings(entry.get("exceptions"), "exceptions", problems)
    patterns, tokens = _check_patterns(entry, role, problems)
    flags, passes = _check_examples(entry, role, problems)
    team = entry.get("team")
    if problems:
        raise LexiconError([f"{label}: {problem}" for problem in problems])
    return Rule(
        id=rule_id, category=category, question=question, message=message,
        suggestions=suggestions, role=role, severity=severity, patterns=patterns,
        tokens=tokens, exceptions=exceptions, flags=flags, passes=passes, scope=scope,
        enabled=bool(entry.get("enabled", True)), team=str(team) if team else None, source=source,
    )  # fmt: skip


def rules_from_dicts(
    entries: Iterable[Any], source: str = "?", defaults: Mapping | None = None
) -> list[Rule]:
    """Validate many entries; every problem in every entry is reported at once."""
    rules, problems = [], []
    for entry in entries:
        try:
            rules.append(rule_from_dict(entry, source, defaults))
        except LexiconError as error:
            problems.extend(error.problems)
    problems.extend(_duplicate_ids(rules))
    if problems:
        raise LexiconError(problems)
    return rules


def _duplicate_ids(rules: list[Rule]) -> list[str]:
    seen: dict[tuple[str, str | None], Rule] = {}
    problems = []
    for rule in rules:
        key = (rule.id, rule.team)
        if key in seen:
            problems.append(
                f"{rule.source}: rule {rule.id!r}: id already used in {seen[key].source}"
            )
        seen[key] = rule
    return problems


def parse_lexicon_text(text: str, source: str) -> list[Rule]:
    """Rules from the text of one lexicon file."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise LexiconError([f"{source}: not valid YAML: {error}"]) from None
    if isinstance(document, list):
        document = {"rules": document}
    if not isinstance(document, Mapping) or not isinstance(document.get("rules"), list):
        raise LexiconError([f"{source}: expected a mapping with a 'rules' list"])
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise LexiconError([f"{source}: defaults must be a mapping"])
    return rules_from_dicts(document["rules"], source, defaults)


def load_rules(path: str | Path) -> list[Rule]:
    """Every rule in a lexicon file or in all *.yml / *.yaml files below a directory."""
    path = Path(path)
    files = sorted([*path.rglob("*.yml"), *path.rglob("*.yaml")]) if path.is_dir() else [path]
    if not files:
        raise LexiconError([f"{path}: no lexicon files (*.yml) found"])
    rules, problems = [], []
    for file in files:
        try:
            rules.extend(parse_lexicon_text(file.read_text(encoding="utf-8"), str(file)))
        except LexiconError as error:
            problems.extend(error.problems)
        except OSError as error:
            problems.append(f"{file}: cannot read: {error.strerror}")
        except UnicodeDecodeError:
            problems.append(f"{file}: not UTF-8 text")
    problems.extend(_duplicate_ids(rules))
    if problems:
        raise LexiconError(problems)
    return rules


def dump_rules(rules: Iterable[Rule]) -> str:
    """A lexicon file's text for these rules (import/export keep one format)."""
    return yaml.safe_dump(
        {"rules": [rule.to_dict() for rule in rules]},
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
