"""The nudge card itself (extension/ui/nudges.js, shared with the /demo page), rendered in the
real browser from the items a `nudges` frame carries."""

from __future__ import annotations

from typing import Any

from .harness import EXTENSION, NUDGE_HOST

OFFER_WITH_MARKUP = "<img src=x onerror=\"document.title='pwned'\">Send a replacement"


def render(page: Any, items: list[dict[str, Any]]) -> None:
    page.add_script_tag(path=str(EXTENSION / "ui" / "nudges.js"))
    page.evaluate(
        """(items) => {
            const view = EmpathyNudgeUI.attach(document.querySelector('#reply'),
                                               {shadowMode: 'open', cssText: ''});
            view.render(items);
        }""",
        items,
    )


def test_card_says_what_the_agent_is_empowered_to_offer(browser: Any, pages: Any) -> None:
    page = browser.new_page()
    page.goto(pages.url("textarea.html", enabled=False))  # no extension here: the module alone
    item = {
        "id": "n1",
        "rule": "team-no-refunds",
        "question": 3,
        "start": 0,
        "end": 0,
        "message": "There may be something you can do.",
        "suggestions": ["I can refund that for you right now."],
        "empowered": ["Refund up to $50", OFFER_WITH_MARKUP],
    }
    plain = {**item, "id": "n2", "rule": "calm-down", "question": 2, "empowered": []}
    render(page, [item, plain])
    cards = page.locator(f"{NUDGE_HOST} .card")
    cards.first.wait_for()
    offer = cards.nth(0).locator(".empowered")
    assert (
        offer.text_content(timeout=5000)
        == f"You're empowered to: Refund up to $50; {OFFER_WITH_MARKUP}"
    )
    assert offer.locator("img").count() == 0  # text, never HTML
    assert cards.nth(1).locator(".empowered").count() == 0
    assert page.title() != "pwned"
    page.close()
