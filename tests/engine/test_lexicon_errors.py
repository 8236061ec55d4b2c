"""A broken entry is reported with its file, its id and what is wrong."""

from __future__ import annotations

import pytest

from assistant.engine import Engine, LexiconError, load_rules, parse_lexicon_text, rules_from_dicts

from .conftest import make_rule


def problems_of(**overrides) -> str:
    with pytest.raises(LexiconError) as caught:
        Engine(rules_from_dicts([make_rule(**overrides)], source="team.yml"))
    return str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"question": 7}, "question must be 1-5, got 7"),
        ({"severity": "fatal"}, "severity must be one of"),
        ({"id": "Bad Id"}, "id must be lowercase"),
        ({"patterns": [], "tokens": []}, "needs at least one of patterns or tokens"),
        ({"patterns": ["(calm|"]}, "unclosed bracket"),
        ({"patterns": ["((calm)) down"]}, "cannot nest"),
        ({"patterns": ["[calm] [down]"]}, "can match nothing"),
        ({"suggestions": []}, "suggestions needs at least one entry"),
        ({"patterns": ["calm (down )?now"]}, "looks like a regular expression"),
        ({"patterns": ["calm .* down"]}, "looks like a regular expression"),
        ({"patterns": ["calm\\s+down"]}, "looks like a regular expression"),
        ({"message": ""}, "message must be a non-empty string"),
        ({"examples": {"flags": ["x"]}}, "examples.passes needs at least one entry"),
        ({"colour": "red"}, "unknown field(s): colour"),
        ({"tokens": [[{"LOWER": {"REGEX": "(a+)+$"}}]]}, "REGEX, which is refused"),
        ({"tokens": [[{"LOWER": {"FUZZY": "calm"}}]]}, "FUZZY, which is refused"),
        ({"tokens": [[{"TEXT": "a"}] * 13]}, "at most 12"),
        ({"tokens": [[{"OP": "*"}, {"OP": "+"}, {"OP": "*"}]]}, "at most 2"),
        ({"tokens": [[{"SENTIMENT": 1}]]}, "unknown or refused token key 'SENTIMENT'"),
        ({"tokens": [[{"LOWER": "a", "OP": "!!"}]]}, "rule 'test-rule'"),
    ],
)
def test_broken_entry_names_file_rule_and_problem(overrides: dict, expected: str) -> None:
    message = problems_of(**overrides)
    assert f"team.yml: rule {overrides.get('id', 'test-rule')!r}" in message
    assert expected in message


def test_phrase_that_expands_too_far_is_refused() -> None:
    phrase = " ".join("(a|b|c|d)" for _ in range(6))  # 4**6 = 4096 sequences
    assert "more than 2000" in problems_of(patterns=[phrase])


def test_every_problem_in_a_file_is_reported_at_once() -> None:
    text = """
rules:
  - {id: one, patterns: [calm down], category: c, question: 9, message: m, suggestions: [s],
     examples: {flags: [calm down], passes: [calm]}}
  - {id: two, patterns: [calm down], category: c, question: 2, severity: loud, message: m,
     suggestions: [s], examples: {flags: [calm down], passes: [calm]}}
"""
    with pytest.raises(LexiconError) as caught:
        parse_lexicon_text(text, "lexicons/agent/x.yml")
    assert len(caught.value.problems) == 2
    assert "lexicons/agent/x.yml: rule 'one': question" in caught.value.problems[0]
    assert "lexicons/agent/x.yml: rule 'two': severity" in caught.value.problems[1]


def test_invalid_yaml_names_the_file() -> None:
    with pytest.raises(LexiconError, match=r"^bad.yml: not valid YAML"):
        parse_lexicon_text("rules: [unclosed", "bad.yml")


def test_duplicate_ids_across_files_are_refused(tmp_path) -> None:
    entry = "rules:\n  - {id: same, patterns: [x y], category: c, question: 1, message: m,\n"
    entry += "     suggestions: [s], examples: {flags: [x y], passes: [z]}}\n"
    (tmp_path / "a.yml").write_text(entry)
    (tmp_path / "b.yml").write_text(entry)
    with pytest.raises(LexiconError, match="id already used in"):
        load_rules(tmp_path)


def test_one_broken_file_does_not_hide_which_one(tmp_path) -> None:
    (tmp_path / "good.yml").write_text(
        "rules:\n  - {id: fine, patterns: [x y], category: c, question: 1, message: m,\n"
        "     suggestions: [s], examples: {flags: [x y], passes: [z]}}\n"
    )
    (tmp_path / "broken.yml").write_text("rules:\n  - {id: broken, question: 0}\n")
    with pytest.raises(LexiconError) as caught:
        load_rules(tmp_path)
    assert all(p.startswith(str(tmp_path / "broken.yml")) for p in caught.value.problems)


def test_to_dict_round_trips() -> None:
    rule = rules_from_dicts([make_rule(exceptions=["calm down, everyone"], scope="start")])[0]
    again = rules_from_dicts([rule.to_dict()])[0]
    assert again == rule
