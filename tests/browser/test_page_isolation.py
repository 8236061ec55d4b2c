"""What a helpdesk page itself can learn about the extension: nothing. Nudges live in a closed
shadow root (page scripts can neither read them nor click their buttons), only the server's
/demo page is told that the extension is there, and the agent's token is kept out of
chrome.storage (which content scripts can read)."""

from __future__ import annotations

import time
from typing import Any

from .harness import (
    configure,
    open_editor_page,
    service_worker,
    type_into_editor,
    wait_for_closed_card,
)

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


def test_a_token_left_in_the_settings_by_an_older_version_is_moved_out(
    browser: Any, empathy_server: Any, settings_for: Any
) -> None:
    configure(browser, {})
    worker = service_worker(browser)
    legacy = settings_for(empathy_server.url, empathy_server.token)  # token inside the settings
    worker.evaluate("(s) => chrome.storage.local.set({settings: s})", legacy)
    deadline = time.monotonic() + 10
    while worker.evaluate("EmpathyToken.load()") != empathy_server.token:
        assert time.monotonic() < deadline, "the token was not moved to the worker's own store"
        time.sleep(0.1)
    everything = worker.evaluate("chrome.storage.local.get(null).then(JSON.stringify)")
    assert empathy_server.token not in everything
