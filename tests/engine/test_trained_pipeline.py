"""Rules that need part-of-speech run only with a trained pipeline; the default needs none.

The "trained" pipeline here is a tiny tagger trained in the test on a handful of
sentences and saved to disk, so the real spacy.load path is exercised without a download.
"""

from __future__ import annotations

import random

import pytest
import spacy
from spacy.training import Example

from assistant.engine import Engine, rules_from_dicts

from .conftest import make_rule

POS_RULE = make_rule(
    id="you-must-verb",
    patterns=[],
    tokens=[[{"LOWER": "you"}, {"LOWER": "must"}, {"POS": "VERB"}]],
    examples={"flags": ["You must send it."], "passes": ["You must be tired."]},
)
PHRASE_RULE = make_rule(id="calm-down")

TRAINING = [
    ("You must send it", ["PRON", "AUX", "VERB", "PRON"]),
    ("You must sign it", ["PRON", "AUX", "VERB", "PRON"]),
    ("You must be tired", ["PRON", "AUX", "AUX", "ADJ"]),
    ("Please calm down", ["INTJ", "VERB", "ADP"]),
    ("We send parcels", ["PRON", "VERB", "NOUN"]),
]


@pytest.fixture(scope="module")
def tagger_path(tmp_path_factory) -> str:
    nlp = spacy.blank("en")
    nlp.add_pipe("tagger")
    examples = [Example.from_dict(nlp.make_doc(t), {"tags": tags}) for t, tags in TRAINING]
    random.seed(0)
    nlp.initialize(lambda: examples)
    for _ in range(30):
        nlp.update(examples)
    # Map fine tags to POS so the rule's {"POS": ...} works.
    nlp.add_pipe("attribute_ruler").add([[{"TAG": "VERB"}]], {"POS": "VERB"})
    path = tmp_path_factory.mktemp("pipeline") / "tiny_tagger"
    nlp.to_disk(path)
    return str(path)


def test_pos_rules_wait_for_a_trained_pipeline() -> None:
    engine = Engine(rules_from_dicts([POS_RULE, PHRASE_RULE]))
    assert [r.id for r in engine.inactive] == ["you-must-verb"]
    assert engine.analyse("You must send it.") == []
    assert [f.rule for f in engine.analyse("Calm down!")] == ["calm-down"]


def test_pos_rules_run_with_a_configured_pipeline(tagger_path: str) -> None:
    engine = Engine(rules_from_dicts([POS_RULE, PHRASE_RULE]), pipeline=tagger_path)
    assert engine.inactive == []
    assert [f.rule for f in engine.analyse("You must send it.")] == ["you-must-verb"]
    assert [f.rule for f in engine.analyse("Calm down!")] == ["calm-down"]
