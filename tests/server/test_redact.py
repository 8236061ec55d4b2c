"""Redaction of personal data (unit level; test_storage.py checks it happens before storing)."""

from __future__ import annotations

import time

import pytest

from assistant.storage.redact import iban_valid, luhn_valid, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe+x@example.co.uk now", "mail [email] now"),
        ("card 4111 1111 1111 1111 charged", "card [card] charged"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("card 5500005555555559.", "card [card]."),
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "IBAN [iban] thanks"),
        ("to DE89370400440532013000", "to [iban]"),
        ("call +44 20 7946 0958", "call [phone]"),
        ("call (555) 123-4567 today", "call [phone] today"),
        ("call 0171 234567", "call [phone]"),
        ("I live at 221B Baker Street, London", "I live at [address], London"),
        ("ship to 12 Elm Road please", "ship to [address] please"),
        ("Hauptstraße 12 in Berlin", "[address] in Berlin"),
    ],
)
def test_personal_data_is_replaced(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Order 1234567890123 is late",  # fails Luhn, too long for a phone without separators
        "It cost $25.99 at 10:30, 3 items",
        "ref 2024-11-23 and 12.05.2024",
        "My order #48213 arrived",
        "I waited 45 minutes on line 2",
        "Card ending 1111 was charged",
    ],
)
def test_ordinary_numbers_are_kept(text):
    assert redact(text) == text


def test_luhn_and_iban_checks():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid(
        "GB82 WEST 1234 5698 7654 33"
    )


@pytest.mark.parametrize(
    "text",
    [
        "a" * 20_000,
        "1" * 20_000,
        "a." * 10_000,
        "a." * 9_000 + "@",
        "x-" * 9_000 + "@example",
        "GB12" + "A" * 19_996,
        "1 " * 10_000,
        "+1 (12) " * 2_500,
        ("12 " + "Aa " * 4) * 2_000,
        "Aa" * 10_000,
    ],
)
def test_long_adversarial_text_is_redacted_quickly(text):
    """Budget far above the few milliseconds these take, far below the ~1 s a backtracking
    pattern needs on them (the old e-mail pattern was quadratic without an "@")."""
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 0.3


def test_a_long_local_part_still_redacts_the_address_it_ends_with():
    assert redact("write to dana.doe@example.com.") == "write to [email]."
    assert "example.com" not in redact("x" * 70 + " dana@example.com")
