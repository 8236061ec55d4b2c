"""Redaction of personal data (unit level; test_storage.py checks it happens before storing)."""

from __future__ import annotations

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
