"""Remove personal data from text before it is written anywhere.

Best effort by design: patterns for e-mail addresses, card numbers (only digit runs that pass the
Luhn check, so order numbers survive), IBANs (mod-97 checked), phone numbers and street addresses.
"""

from __future__ import annotations

import re

# Bounded parts: at most 64 characters tried from each start, so linear time on 20,000 letters
# (the unbounded pattern took about a second there, even with no "@" at all). A start may fall
# inside a longer run, so an address behind 65+ letters loses its last 64 and its domain.
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
# 13-19 digits, optionally grouped by single spaces or dashes, and the whole run of them: no
# digit (or separator and digit) just before or after, so a longer order number is left alone.
# Letters around it don't matter ("ref4111111111111111" is still a card number).
CARD = re.compile(r"(?<!\d)(?<!\d[ -])\d(?:[ -]?\d){12,18}(?!\d)(?![ -]\d)")
# Upper case only, so the pattern cannot run on into the words after a spaced IBAN.
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
# International (+44 20 7946 0958) or local with separators ((555) 123-4567, 0171 234567).
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}(?![\w-])"
)
STREET_TYPES = (
    "street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd|drive|dr|court|ct|place|pl|square|sq|"
    "terrace|way|close|crescent|highway|hwy|parkway|pkwy|strasse|straße|straat|rue|via|calle"
)
STREET = re.compile(
    rf"\b\d{{1,5}}[a-z]?,?\s+(?:[A-Z][\w'-]*\s+){{1,4}}(?:{STREET_TYPES})\b",
    re.IGNORECASE,
)
# Continental style: "Hauptstraße 12", "Rue de Rivoli 5" (street word first, number after).
STREET_NUMBER_AFTER = re.compile(
    r"\b[A-ZÄÖÜ][\w'-]*(?:strasse|straße|str\.|weg|gasse|platz|laan|straat)\s+\d{1,5}[a-z]?\b"
)


def redact(text: str) -> str:
    """Return text with personal data replaced by [email], [card], [iban], [phone], [address]."""
    if "@" in text:
        text = EMAIL.sub("[email]", text)
    text = IBAN.sub(_iban_or_keep, text)
    text = CARD.sub(_card_or_keep, text)
    text = STREET.sub("[address]", text)
    text = STREET_NUMBER_AFTER.sub("[address]", text)
    text = PHONE.sub(_phone_or_keep, text)
    return text


def _card_or_keep(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if luhn_valid(digits) else match.group()


def _iban_or_keep(match: re.Match[str]) -> str:
    return "[iban]" if iban_valid(match.group()) else match.group()


DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[.-]\d{1,2}[.-]\d{2,4}")


def _phone_or_keep(match: re.Match[str]) -> str:
    found = match.group()
    digits = re.sub(r"\D", "", found)
    if DATE.fullmatch(found):
        return found
    if found.isdigit() and len(digits) > 12:
        return found  # a long unbroken number is an order or tracking number, not a phone
    # Fewer than 7 digits is an amount, a time or an order line, not a phone number.
    return "[phone]" if 7 <= len(digits) <= 15 else found


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    iban = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(iban) <= 34 or not iban[:2].isalpha() or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1
