"""Team scope and empowerment: one engine serves every team its own view of the rules."""

from __future__ import annotations

from assistant.engine import Context, Engine, LexiconError, rules_from_dicts

from .conftest import make_rule

GLOBAL_POLICY = make_rule(id="policy", patterns=["our policy"], question=3)
WAITING = {
    "id": "customer-waiting", "role": "conversation", "category": "responsiveness",
    "question": 2, "message": "Waiting {waited}.", "suggestions": ["Still on it{, name}."],
}  # fmt: skip


def engine_for_teams() -> Engine:
    rules = rules_from_dicts(
        [
            GLOBAL_POLICY,
            make_rule(id="calm-down"),
            make_rule(id="per-my-email", patterns=["per my last email"], team="billing"),
            make_rule(id="calm-down", patterns=["relax"], team="billing", message="Billing."),
            WAITING,
            {**WAITING, "team": "vip", "message": "A VIP waited {waited}."},
            {
                "id": "refund-50",
                "role": "empowerment",
                "team": "billing",
                "patterns": ["(charged|billed) twice", "double charge"],
                "message": "Refund up to $50 on the spot",
            },
            {
                "id": "tier-2",
                "role": "empowerment",
                "team": "billing",
                "message": "Escalate to tier 2 without a callback",
            },
            {
                "id": "express",
                "role": "empowerment",
                "team": "shipping",
                "patterns": ["lost parcel"],
                "message": "Free express shipping on a reship",
            },
        ]
    )
    return Engine(rules, disabled={"shipping": ["policy"]})


def rules_seen(engine: Engine, text: str, team: str | None) -> list[str]:
    return [f.rule for f in engine.analyse(text, team=team)]


def test_agents_get_global_rules_plus_their_teams() -> None:
    engine = engine_for_teams()
    text = "As per my last email, that's our policy."
    assert rules_seen(engine, text, None) == ["policy"]
    assert sorted(rules_seen(engine, text, "billing")) == ["per-my-email", "policy"]


def test_a_team_can_switch_off_a_global_rule() -> None:
    engine = engine_for_teams()
    assert rules_seen(engine, "That's our policy.", "shipping") == []
    assert rules_seen(engine, "That's our policy.", "billing") == ["policy"]


def test_a_teams_own_version_replaces_the_global_rule() -> None:
    engine = engine_for_teams()
    assert rules_seen(engine, "Calm down.", "billing") == []
    (finding,) = engine.analyse("Just relax.", team="billing")
    assert (finding.rule, finding.message) == ("calm-down", "Billing.")
    assert rules_seen(engine, "Calm down.", "shipping") == ["calm-down"]


def test_conversation_nudges_take_the_teams_wording() -> None:
    engine = engine_for_teams()
    assert engine.waiting_nudge(Context(team="vip"), 120).message == "A VIP waited 2 minutes."
    assert engine.waiting_nudge(Context(team="billing"), 120).message == "Waiting 2 minutes."


def test_question_3_nudges_show_what_the_team_is_empowered_to_offer() -> None:
    engine = engine_for_teams()
    context = Context(customer_name="Ana", team="billing")
    engine.observe_customer(context, "I was charged twice for one order!")
    (finding,) = engine.review("Sorry, that's our policy.", context)
    assert finding.empowered == [
        "Refund up to $50 on the spot",
        "Escalate to tier 2 without a callback",
    ]


def test_offers_follow_the_customers_situation_and_team() -> None:
    engine = engine_for_teams()
    billing = Context(team="billing")
    engine.observe_customer(billing, "Where is my parcel?")
    (finding,) = engine.review("Sorry, that's our policy.", billing)
    assert finding.empowered == ["Escalate to tier 2 without a callback"]
    other = Context(team=None)
    engine.observe_customer(other, "I was charged twice.")
    (finding,) = engine.review("Sorry, that's our policy.", other)
    assert finding.empowered == []


def test_offers_only_on_questions_3_and_5() -> None:
    engine = engine_for_teams()
    context = Context(team="billing")
    engine.observe_customer(context, "double charge again")
    (finding,) = engine.review("Just relax, I am checking.", context)
    assert finding.rule == "calm-down" and finding.empowered == []


def test_same_id_twice_in_one_team_is_refused_but_across_teams_is_fine() -> None:
    rules_from_dicts([make_rule(team="a"), make_rule(team="b"), make_rule()])
    try:
        rules_from_dicts([make_rule(team="a"), make_rule(team="a")])
    except LexiconError as error:
        assert "id already used" in str(error)
    else:
        raise AssertionError("duplicate id in one team was accepted")


# -- incremental updates (a lead's edit must go live fast) -------------------------------


def test_updated_engine_reflects_added_changed_and_removed_rules() -> None:
    base_rules = rules_from_dicts([GLOBAL_POLICY, make_rule(id="calm-down"), WAITING])
    engine = Engine(base_rules)
    edited = rules_from_dicts(
        [
            make_rule(id="policy", patterns=["company rules"], question=3),  # changed
            make_rule(id="per-my-email", patterns=["per my last email"]),  # added
            WAITING,
        ]  # calm-down removed
    )
    updated = engine.updated(edited)
    text = "Calm down, per my last email our policy and company rules say no."
    assert sorted(f.rule for f in updated.analyse(text)) == ["per-my-email", "policy"]
    (policy,) = [f for f in updated.analyse(text) if f.rule == "policy"]
    assert policy.text == "company rules"
    # The old engine is untouched and still serves until the swap.
    assert sorted(f.rule for f in engine.analyse(text)) == ["calm-down", "policy"]
    assert len(updated.components) == 2 and updated.components[0][0] is engine.components[0][0]


def test_updates_chain_and_teams_and_switch_offs_follow() -> None:
    engine = Engine(rules_from_dicts([GLOBAL_POLICY, make_rule(id="calm-down")]))
    step1 = engine.updated(
        rules_from_dicts(
            [
                GLOBAL_POLICY,
                make_rule(id="calm-down"),
                make_rule(id="calm-down", team="b", patterns=["relax"]),
            ]
        ),
        disabled={"a": ["policy"]},
    )
    assert [f.rule for f in step1.analyse("Relax, it's our policy.", team="b")] == [
        "calm-down", "policy"
    ]  # fmt: skip
    assert step1.analyse("It's our policy.", team="a") == []
    step2 = step1.updated(rules_from_dicts([GLOBAL_POLICY]))
    assert step2.analyse("Relax, calm down.", team="b") == []
    assert [f.rule for f in step2.analyse("It's our policy.", team="a")] == ["policy"]


def test_many_changes_fall_back_to_a_full_build() -> None:
    from assistant.engine.engine import MAX_OVERLAY_RULES

    engine = Engine(rules_from_dicts([GLOBAL_POLICY]))
    many = [make_rule(id=f"r{n}", patterns=[f"word{n} here"]) for n in range(MAX_OVERLAY_RULES + 1)]
    updated = engine.updated(rules_from_dicts([GLOBAL_POLICY, *many]))
    assert len(updated.components) == 1
    assert [f.rule for f in updated.analyse("word7 here")] == ["r7"]


def test_an_update_cannot_shift_the_norms_under_compiled_rules() -> None:
    # A token pattern naming "paid" is compiled; a later rule teaches the family of "pay".
    paid = make_rule(
        id="paid-already", patterns=[], tokens=[[{"LOWER": "paid"}, {"LOWER": "already"}]]
    )
    engine = Engine(rules_from_dicts([paid]))
    assert [f.rule for f in engine.analyse("You paid already.")] == ["paid-already"]
    updated = engine.updated(rules_from_dicts([paid, make_rule(id="pay-up", patterns=["pay up"])]))
    for each in (engine, updated):
        assert [f.rule for f in each.analyse("You paid already.")] == ["paid-already"]
    assert [f.rule for f in updated.analyse("Please pay up.")] == ["pay-up"]


def test_rewording_a_rule_needs_no_recompile() -> None:
    engine = Engine(rules_from_dicts([GLOBAL_POLICY]))
    updated = engine.updated(rules_from_dicts([{**GLOBAL_POLICY, "message": "Reworded."}]))
    assert len(updated.components) == 1
    assert updated.analyse("That's our policy.")[0].message == "Reworded."


def test_a_renewed_engine_lets_the_old_vocabulary_go() -> None:
    engine = Engine(rules_from_dicts([GLOBAL_POLICY]))
    engine.analyse("zqxv-unique-token-1 our policy")
    renewed = engine.renewed()
    assert renewed.nlp.vocab is not engine.nlp.vocab
    assert "zqxv-unique-token-1" not in renewed.nlp.vocab.strings
    assert [f.rule for f in renewed.analyse("Our policy, I'm afraid.")] == ["policy"]
    assert [f.rule for f in engine.analyse("Our policy, I'm afraid.")] == ["policy"]  # still serves
    # Updates after a renewal build on the new vocabulary.
    assert [f.rule for f in engine.updated(rules_from_dicts([GLOBAL_POLICY])).analyse("our policy")]
