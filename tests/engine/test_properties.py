"""Property tests: no input, however odd, makes the lexicon parser or the engine raise
anything but a clear LexiconError, and findings always point at real text."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.engine import Engine, LexiconError, rules_from_dicts
from assistant.engine.engine import MAX_TEXT_CHARS
from assistant.engine.phrases import PhraseSyntaxError, parse_phrase

from .conftest import make_rule

PHRASE_CHARS = st.sampled_from([*"abc ()[]|=\\'-:!?", "we", "sorry", "n't", "’"])
phrases = st.lists(PHRASE_CHARS, min_size=0, max_size=30).map("".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["id", "patterns", "tokens", "category", "question", "message", "suggestions",
          "severity", "exceptions", "examples", "scope", "role", "team"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(phrases)
def test_phrase_parser_returns_sequences_or_a_syntax_error(phrase: str) -> None:
    try:
        sequences = parse_phrase(phrase)
    except PhraseSyntaxError:
        return
    assert sequences and all(words for words in sequences)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8))
def test_rule_validation_accepts_or_explains(overrides: dict) -> None:
    try:
        rules = rules_from_dicts([make_rule(**overrides)], source="fuzz.yml")
        Engine(rules)
    except LexiconError as error:
        assert error.problems and all(p.startswith("fuzz.yml") for p in error.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phrases, st.text(max_size=200))
def test_findings_point_at_the_text_they_flag(phrase: str, text: str) -> None:
    try:
        engine = Engine(rules_from_dicts([make_rule(patterns=[phrase])]))
    except LexiconError:
        return
    for finding in engine.analyse(text + " " + phrase):
        source = text + " " + phrase
        assert source[finding.start : finding.end] == finding.text


def test_a_megabyte_of_text_is_analysed_in_bounded_time(engine: Engine) -> None:
    huge = ("calm down " + "x" * 90 + "\n") * 10_000  # 1 MB
    started = time.process_time()
    findings = engine.analyse(huge)
    elapsed = time.process_time() - started
    assert all(f.end <= MAX_TEXT_CHARS for f in findings)
    assert findings  # the start of the text is still coached
    assert elapsed < 5  # a loose bound: the point is "not proportional to 1 MB"


def test_long_runs_without_spaces_cost_nothing_and_keep_offsets(engine: Engine) -> None:
    from assistant.engine import Context

    context = Context(customer_name="   ")  # whitespace-only names are no names
    text = "!" * 8_000 + " calm down " + "x" * 8_000
    started = time.process_time()
    engine.observe_customer(context, text)
    findings = engine.review(text, context)
    assert time.process_time() - started < 2
    calm = next(f for f in findings if f.rule == "calm-down")
    assert text[calm.start : calm.end].lower() == "calm down"
    assert len(context.pending) <= 1
