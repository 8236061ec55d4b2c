"""Property test over the redactor: whatever text surrounds them, Luhn-valid card numbers
(13-19 digits, grouped by spaces or dashes) and e-mail addresses never survive `redact()`.

The detectors here are written independently of assistant/storage/redact.py (no shared
patterns), so a blind spot in the redactor's patterns is not repeated in the check."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.storage.redact import redact


def luhn(digits: str) -> bool:
    checksum = 0
    for i, char in enumerate(digits[::-1]):
        d = int(char) * (2 if i % 2 else 1)
        checksum += d // 10 + d % 10
    return checksum % 10 == 0


def card_numbers_in(text: str) -> list[str]:
    """Every run of ASCII digits joined by single spaces or dashes whose digits number 13-19
    and pass Luhn."""
    found = []
    i = 0
    while i < len(text):
        if text[i] not in string.digits:
            i += 1
            continue
        digits, j = "", i
        while j < len(text):
            if text[j] in string.digits:
                digits += text[j]
                j += 1
            elif text[j] in " -" and j + 1 < len(text) and text[j + 1] in string.digits:
                j += 1
            else:
                break
        if 13 <= len(digits) <= 19 and luhn(digits):
            found.append(digits)
        i = j
    return found


LOCAL = string.ascii_letters + string.digits + "._+-"
LABEL = string.ascii_letters + string.digits + "-"


def emails_in(text: str) -> list[str]:
    """Every "local@domain.tld" with an ASCII local part and at least one dot in the domain."""
    found = []
    for at, char in enumerate(text):
        if char != "@":
            continue
        start = at
        while start > 0 and text[start - 1] in LOCAL:
            start -= 1
        end = at + 1
        while end < len(text) and (text[end] in LABEL or text[end] == "."):
            end += 1
        domain = text[at + 1 : end].strip(".")
        labels = domain.split(".")
        if start < at and len(labels) >= 2 and all(labels):
            found.append(text[start:end])
    return found


@st.composite
def card_number(draw: st.DrawFn) -> str:
    """A Luhn-valid number of 13-19 digits, written plain or grouped by spaces or dashes."""
    length = draw(st.integers(13, 19))
    body = draw(st.sampled_from("3456")) + draw(
        st.text(string.digits, min_size=length - 2, max_size=length - 2)
    )
    check = next(d for d in string.digits if luhn(body + d))
    digits = body + check
    separator = draw(st.sampled_from(["", " ", "-"]))
    if not separator:
        return digits
    group = draw(st.sampled_from([4, 3, 5]))
    return separator.join(digits[k : k + group] for k in range(0, len(digits), group))


email_address = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    st.text(string.ascii_letters + string.digits + "._+-", min_size=1, max_size=30).filter(
        lambda s: s[0] not in "._+-" and s[-1] not in "._+-"
    ),
    st.lists(
        st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12),
        min_size=1,
        max_size=3,
    ),
    st.text(string.ascii_lowercase, min_size=2, max_size=6),
)
# Anything, including the characters the patterns care about, but the secret is set apart
# from its neighbours: a number glued to other digits is a different number.
filler = st.text(max_size=40)
# (A lone space or dash is no gap: "4111 1111 1111 1111 2" is one 17-digit number.)
gap = st.sampled_from(["\n", ", ", ": ", " (", ") ", " <", "> ", "\t", ". ", "'", '"', " / "])


@st.composite
def text_with_secrets(draw: st.DrawFn) -> tuple[str, list[str]]:
    parts, secrets = [draw(filler)], []
    for _ in range(draw(st.integers(1, 4))):
        secret = draw(st.one_of(card_number(), email_address))
        secrets.append(secret)
        parts += [draw(gap), secret, draw(gap), draw(filler)]
    return "".join(parts), secrets


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_with_secrets())
@example(("card 4111 1111 1111 1111 and a@b.co", ["4111 1111 1111 1111", "a@b.co"]))
def test_no_card_number_or_email_survives_redaction(case: tuple[str, list[str]]) -> None:
    text, secrets = case
    assert card_numbers_in(text) or emails_in(text), "the generator must plant something"
    out = redact(text)
    assert card_numbers_in(out) == [], (text, out)
    assert emails_in(out) == [], (text, out)
    for secret in secrets:
        assert secret not in out, (text, out)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
@example("a" * 70 + "@example.com")  # found by the test above: a local part over 64 characters
@example("ref4111111111111111, card4111 1111 1111 1111_")  # found: a card glued to letters
def test_arbitrary_text_loses_every_card_number_and_email(text: str) -> None:
    out = redact(text)
    assert card_numbers_in(out) == [], (text, out)
    assert emails_in(out) == [], (text, out)


def test_detectors_find_what_they_should() -> None:
    """The detectors themselves can fail: they see the planted secrets before redaction."""
    assert card_numbers_in("pay 4111-1111-1111-1111 now") == ["4111111111111111"]
    assert card_numbers_in("order 4111111111111112") == []
    assert emails_in("mail: jo.e+x@mail.example.org!") == ["jo.e+x@mail.example.org"]
    assert emails_in("at 10@home, a@b") == []
