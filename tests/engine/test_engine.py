"""The engine over small rule sets (behaviour) and over the default lexicons (product)."""

from __future__ import annotations

import pytest

from assistant.engine import Context, Engine

from .conftest import engine_of, make_rule


@pytest.fixture(scope="module")
def apology() -> Engine:
    return engine_of(
        make_rule(
            id="stock-apology",
            patterns=["(we|i) (apologize|are sorry|am sorry) for any inconvenience [caused]"],
            suggestions=["I'm sorry {thing} let you down{, name}."],
            examples={"flags": ["x"], "passes": ["y"]},
        ),
        make_rule(
            id="policy",
            patterns=["our policy"],
            exceptions=["our insurance policy", "our privacy policy"],
            examples={"flags": ["x"], "passes": ["y"]},
        ),
        make_rule(id="curt", patterns=["(ok|noted|fine)"], scope="whole"),
        make_rule(id="opener", patterns=["to be honest"], scope="start"),
        make_rule(id="exact", patterns=["just= restart"]),
        make_rule(id="lemma-token", patterns=[], tokens=[[{"LEMMA": "refuse"}, {"LOWER": "to"}]]),
    )


@pytest.mark.parametrize(
    "text",
    [
        "We apologize for any inconvenience.",
        "We apologise for any inconvenience caused.",
        "We're sorry for any inconvenience caused",
        "WE ARE SORRY FOR ANY INCONVENIENCE",
        "I’m sorry for any inconvenience.",
        "Again, I apologized for any inconvenience.",
    ],
)
def test_word_forms_spellings_contractions_and_case_match(apology: Engine, text: str) -> None:
    assert [f.rule for f in apology.analyse(text)] == ["stock-apology"]


def test_offsets_point_at_the_flagged_words(apology: Engine) -> None:
    text = "Thanks for waiting. We apologise for any inconvenience caused!"
    (finding,) = apology.analyse(text)
    assert text[finding.start : finding.end] == "We apologise for any inconvenience caused"
    assert finding.text == text[finding.start : finding.end]


def test_exceptions_suppress_innocent_uses(apology: Engine) -> None:
    assert [f.rule for f in apology.analyse("That's our policy.")] == ["policy"]
    assert apology.analyse("That's covered by our insurance policy.") == []


def test_scope_whole_only_fires_on_the_entire_message(apology: Engine) -> None:
    assert [f.rule for f in apology.analyse("Noted.")] == ["curt"]
    assert apology.analyse("Noted, I'll refund it today.") == []


def test_scope_start_only_fires_at_a_sentence_start(apology: Engine) -> None:
    assert [f.rule for f in apology.analyse("Sure. To be honest, no.")] == ["opener"]
    assert apology.analyse("I want to be honest with you.") == []


def test_exact_words_match_only_as_written(apology: Engine) -> None:
    assert [f.rule for f in apology.analyse("Just restart it.")] == ["exact"]
    assert apology.analyse("Restart it.") == []


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("it is not possible", "It's not possible."),
        ("it's not possible", "it is not possible"),
        ("that has been sorted", "That's been sorted."),
        ("I would rather not", "I'd rather not."),
        ("I'd rather not", "I would rather not"),
    ],
)
def test_s_and_d_contractions_match_both_ways_after_pronouns(phrase: str, text: str) -> None:
    assert engine_of(make_rule(patterns=[phrase])).analyse(text)


def test_possessive_s_is_not_read_as_is() -> None:
    assert (
        engine_of(make_rule(patterns=["the customer is right"])).analyse("The customer's right.")
        == []
    )


def test_unrelated_lookup_forms_do_not_match() -> None:
    engine = engine_of(make_rule(patterns=["do our best"]))
    assert engine.analyse("We do our best.") and not engine.analyse("We do our good.")


def test_escaped_brackets_match_emoticons() -> None:
    engine = engine_of(make_rule(patterns=[r"so (sad|:\(|:-\()"]))
    assert [f.text for f in engine.analyse("I am so :( today")] == ["so :("]


def test_lemma_in_token_patterns_works_without_a_lemmatizer(apology: Engine) -> None:
    assert [f.rule for f in apology.analyse("The bank refused to pay.")] == ["lemma-token"]


def test_suggestions_carry_the_customers_name_and_words(apology: Engine) -> None:
    context = Context(customer_name="Maria Lopez")
    apology.observe_customer(context, "My blue jacket arrived torn.")
    (finding,) = apology.analyse("We apologize for any inconvenience.", context)
    assert finding.suggestions == ["I'm sorry your blue jacket let you down, Maria."]
    (bare,) = apology.analyse("We apologize for any inconvenience.")
    assert bare.suggestions == ["I'm sorry this let you down."]


def test_engine_refuses_nothing_silently_when_rules_are_disabled() -> None:
    engine = engine_of(make_rule(enabled=False))
    assert len(engine) == 0 and engine.analyse("Calm down.") == []


# -- the default lexicons --------------------------------------------------------------


def test_the_issue_example_is_caught_with_checklist_framing(engine: Engine) -> None:
    reply = (
        "We apologize for any inconvenience. As per our policy, refunds take 7-10 business days."
    )
    findings = engine.analyse(reply)
    flagged = {reply[f.start : f.end].lower() for f in findings}
    assert any("apologize for any inconvenience" in span for span in flagged)
    assert any("policy" in span for span in flagged)
    for finding in findings:
        assert 1 <= finding.question <= 5
        assert finding.severity in ("suggestion", "warning")
        assert finding.message and finding.suggestions


@pytest.mark.parametrize(
    "text", ["Calm down.", "That's not my department.", "We apologize for any inconvenience."]
)
def test_cold_phrases_from_the_brief_are_caught(engine: Engine, text: str) -> None:
    assert engine.analyse(text)


def test_customer_feelings_detected(engine: Engine) -> None:
    categories = {f.category for f in engine.feelings("This is the THIRD time I'm asking!!!")}
    assert "frustration" in categories
    assert engine.feelings("Thanks, that's all I needed.") == []


def test_unacknowledged_feeling_is_nudged_with_the_customers_words(engine: Engine) -> None:
    context = Context(customer_name="Sam")
    engine.observe_customer(context, "This is the third time I'm asking about my refund!!!")
    findings = engine.review("Refunds take 7-10 business days to process.", context)
    nudge = next(f for f in findings if f.rule == "unacknowledged-feeling")
    assert nudge.question == 1
    assert "third time" in nudge.message.lower()
    assert any("Sam" in s for s in nudge.suggestions)


def test_the_nudge_quotes_words_not_punctuation(engine: Engine) -> None:
    context = Context()
    engine.observe_customer(context, "I'm so worried about my savings.")
    engine.observe_customer(context, "Hello??? !!!")
    nudge = next(f for f in engine.review("The transfer is pending.", context) if f.question == 1)
    assert "worried" in nudge.message


def test_acknowledging_in_the_draft_or_a_sent_reply_removes_the_nudge(engine: Engine) -> None:
    context = Context()
    engine.observe_customer(context, "I'm so frustrated, this is the third time I'm asking.")
    ack = "I can see why that's frustrating, and I'm sorry. Let me fix it now."
    assert "unacknowledged-feeling" not in {f.rule for f in engine.review(ack, context)}
    engine.observe_agent(context, ack)
    later = engine.review("Your refund has been issued to your card today.", context)
    assert "unacknowledged-feeling" not in {f.rule for f in later}


def test_name_unused_and_repetition(engine: Engine) -> None:
    context = Context(customer_name="Priya Shah")
    engine.observe_customer(context, "Where is my parcel?")
    draft = "I have checked the tracking and the parcel left our depot this morning."
    assert "customer-name-unused" in {f.rule for f in engine.review(draft, context)}
    engine.observe_agent(context, draft)
    again = engine.review("Thanks Priya. " + draft, context)
    rules = {f.rule for f in again}
    assert "customer-name-unused" not in rules
    repeated = next(f for f in again if f.rule == "repeated-sentence")
    assert again and repeated.text == draft


def test_waiting_nudge_uses_name_and_duration(engine: Engine) -> None:
    context = Context(customer_name="Ana")
    engine.observe_customer(context, "My order never arrived.")
    nudge = engine.waiting_nudge(context, 125)
    assert nudge.rule == "customer-waiting"
    assert "2 minutes" in nudge.message
    assert any("Ana" in s for s in nudge.suggestions)


def test_context_survives_a_json_round_trip(engine: Engine) -> None:
    context = Context(customer_name="Lee")
    engine.observe_customer(context, "I'm really worried my card was charged twice.")
    restored = Context.from_dict(context.to_dict())
    assert restored == context
    assert "unacknowledged-feeling" in {
        f.rule for f in engine.review("The charge will drop off in a few days.", restored)
    }
