"""What a helpdesk page itself can learn about the extension: nothing. Nudges live in a closed
shadow root (page scripts can neither read them nor click their buttons), and only the server's
/demo page is told that the extension is there."""

from __future__ import annotations

from typing import Any

from .harness import configure, open_editor_page, type_into_editor, wait_for_closed_card

DRAFT = "Please calm down, I will check your order now."


def test_page_cannot_reach_the_nudges_nor_see_the_extension(
    browser: Any, empathy_server: Any, settings_for: Any, pages: Any
) -> None:
    configure(browser, settings_for(empathy_server.url, empathy_server.token), open_shadow=False)
    page = open_editor_page(browser, pages.url("textarea.html"))
    type_into_editor(page, DRAFT)
    card = wait_for_closed_card(page, "calm-down")  # the agent sees it (read through DevTools)
    assert "calm down" in card["text"].lower()
    seen_by_page = page.evaluate(
        """() => ({
            host: !!document.querySelector('empathy-engine-nudges'),
            shadowRoot: document.querySelector('empathy-engine-nudges').shadowRoot !== null,
            advertised: 'empathyExtension' in document.documentElement.dataset,
        })"""
    )
    assert seen_by_page == {"host": True, "shadowRoot": False, "advertised": False}
    page.close()
