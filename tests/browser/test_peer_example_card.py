"""The nudge card's "How a teammate put it" (a `nudges` item's peer_example), in the browser."""

from __future__ import annotations

from typing import Any

from .harness import NUDGE_HOST
from .test_nudge_card import render

MARKUP = "<img src=x onerror=\"document.title='pwned'\">I'd be annoyed too. Here's what I'll do."


def test_card_shows_a_teammates_example_as_text(browser: Any, pages: Any) -> None:
    page = browser.new_page()
    page.goto(pages.url("textarea.html", enabled=False))
    item = {
        "id": "n1",
        "rule": "calm-down",
        "question": 2,
        "start": 0,
        "end": 0,
        "message": "Being told to calm down rarely calms anyone.",
        "suggestions": ["I can hear how upsetting this is."],
        "empowered": [],
        "peer_example": {"id": 7, "text": MARKUP},
    }
    plain = {**item, "id": "n2", "rule": "other"}
    del plain["peer_example"]
    render(page, [item, plain])
    cards = page.locator(f"{NUDGE_HOST} .card")
    cards.first.wait_for()
    example = cards.nth(0).locator(".peer-example")
    assert example.locator(".peer-label").text_content() == "How a teammate put it"
    assert example.locator(".peer-text").text_content() == MARKUP
    assert example.locator("img").count() == 0  # text, never HTML
    assert cards.nth(1).locator(".peer-example").count() == 0
    assert page.title() != "pwned"
    page.close()
