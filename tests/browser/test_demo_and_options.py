"""The server's /demo agent desktop (with and without the extension), the options page and the
popup, in the real browser against the real server."""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import conversations, stored_messages
from .harness import (
    REPO,
    card_is_styled,
    configure,
    service_worker,
    wait_for_closed_card,
    wait_for_nudge,
)

COLD_REPLY = "Please calm down, we will look into it."
SCREENSHOT = REPO / "docs" / "images" / "demo-nudge.png"


def open_demo(context: Any, demo_url: str) -> Any:
    with urllib.request.urlopen(demo_url) as response:  # fail clearly if the page's script 404s
        html = response.read().decode()
    for script in ("/ui/nudges.js", "/static/demo.js"):
        assert script in html, f"/demo does not load {script}"
        try:
            urllib.request.urlopen(demo_url.rsplit("/demo", 1)[0] + script).close()
        except urllib.error.HTTPError as error:
            pytest.fail(
                f"{script} answers {error.code}: the app must serve assistant/web/static at "
                "/static (create_app: Flask(__name__, static_folder=None), so the web "
                "blueprint's static route is the one used)"
            )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(demo_url)
    page.errors = errors
    return page


def play_first_scenario(page: Any) -> None:
    page.locator(".scenario").first.click()
    page.locator("[data-role='customer-message']").first.wait_for(timeout=10000)


def test_demo_page_shows_nudges_with_its_own_client(browser: Any, empathy_server: Any) -> None:
    configure(browser, {})  # extension not configured: the page talks to the server itself
    page = open_demo(browser, empathy_server.demo_url)
    play_first_scenario(page)
    page.locator("#reply").click()
    page.keyboard.type(COLD_REPLY)
    card = wait_for_closed_card(page, "calm-down")  # the page's own overlay is closed too
    assert card["question"] == "How would I feel if I were that person?"
    assert card["borderLeftWidth"] == "4px", "nudges.css did not reach the card"
    if os.environ.get("EMPATHY_SCREENSHOTS"):  # refreshes the picture in docs/extension.md
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    page.mouse.click(card["apply"]["x"], card["apply"]["y"])  # a real click, as the agent's
    expect(page.locator("#reply")).not_to_have_value(re.compile("calm down", re.IGNORECASE))
    page.keyboard.press("Enter")
    page.locator("[data-role='agent-message']").first.wait_for()
    assert page.locator("#reply").input_value() == ""
    assert not page.errors, page.errors
    page.close()


def test_extension_takes_over_the_demo_page(
    browser: Any, empathy_server: Any, settings_for: Any
) -> None:
    settings = settings_for(empathy_server.url, empathy_server.token)
    configure(browser, {**settings, "demoEnabled": True})
    page = open_demo(browser, empathy_server.demo_url)
    expect(page.locator("html")).to_have_attribute("data-empathy-extension", "on")
    play_first_scenario(page)
    page.locator("#reply").click()
    page.keyboard.type(COLD_REPLY)
    card = wait_for_nudge(page, "calm-down")
    assert card_is_styled(card), "nudges.css did not load under the demo page's CSP"
    # One overlay only: the page handed its client over to the extension.
    assert page.locator("empathy-engine-nudges").count() == 1
    assert page.locator("#connection").text_content() == "Using the Empathy Engine extension"
    page.keyboard.press("Enter")  # the page empties the box; the extension still sends the reply
    deadline = time.monotonic() + 15
    while COLD_REPLY not in [m[2] for m in stored_messages(empathy_server.database_url)]:
        assert time.monotonic() < deadline, "the sent reply never reached the server"
        time.sleep(0.1)
    page.close()


def options_page(context: Any) -> Any:
    extension_id = service_worker(context).url.split("/")[2]
    page = context.new_page()
    page.goto(f"chrome-extension://{extension_id}/options/options.html")
    return page


def test_options_page_validates_saves_and_tests_the_connection(
    browser: Any, empathy_server: Any
) -> None:
    configure(browser, {})
    page = options_page(browser)
    page.get_by_label("Server URL").fill("not a url")
    page.get_by_label("Agent token").fill("")
    page.get_by_label("Sites").fill("desk.example.com")
    page.get_by_role("button", name="Save").click()
    errors = page.locator("#errors li").all_text_contents()
    assert any("Server URL" in e for e in errors), errors
    assert any("Agent token" in e for e in errors), errors
    assert any("match pattern" in e for e in errors), errors
    page.get_by_label("Server URL").fill("http://empathy.example.com")  # the token in clear text
    page.get_by_role("button", name="Save").click()
    errors = page.locator("#errors li").all_text_contents()
    assert any("https:// or wss://" in e for e in errors), errors
    stored = service_worker(browser).evaluate("chrome.storage.local.get('settings')")
    assert stored == {"settings": {}}, "invalid settings were saved"

    page.get_by_label("Server URL").fill(empathy_server.url)
    page.get_by_label("Agent token").fill("wrong-token")
    page.get_by_role("button", name="Test connection").click()
    page.locator("#status.bad").wait_for()
    assert "refused" in page.locator("#status").text_content()

    page.get_by_label("Agent token").fill(empathy_server.token)
    page.get_by_role("button", name="Test connection").click()
    page.locator("#status.ok").wait_for()

    page.get_by_label("Sites").fill("https://desk.example.com/*")
    page.get_by_label("Add a preset").select_option(label="Zammad")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#status")).to_have_text("Saved.")  # not the earlier "Connected"
    worker = service_worker(browser)
    stored = worker.evaluate("chrome.storage.local.get('settings')")["settings"]
    assert stored["serverUrl"] == empathy_server.url
    assert worker.evaluate("EmpathyToken.load()") == empathy_server.token
    # Content scripts can read all of chrome.storage.local: the token must not be anywhere in it.
    everything = worker.evaluate("chrome.storage.local.get(null).then(JSON.stringify)")
    assert empathy_server.token not in everything
    assert stored["sites"] == ["https://desk.example.com/*", "https://*.zammad.com/*"]
    assert stored["rules"][0]["composer"] == ".articleNewEdit-body"
    page.close()


def test_popup_shows_the_state(browser: Any, empathy_server: Any, settings_for: Any) -> None:
    configure(browser, {})
    extension_id = service_worker(browser).url.split("/")[2]
    popup = browser.new_page()
    popup.goto(f"chrome-extension://{extension_id}/popup/popup.html")
    popup.locator("#state[data-state='not-configured']").wait_for()
    popup.close()


def test_popup_pauses_a_long_url_conversation_under_the_content_scripts_key(
    extension: Any, empathy_server: Any, pages: Any
) -> None:
    # Keys over 200 characters are shortened with a hash (the protocol's limit).
    page = extension.new_page()
    page.goto(pages.url("textarea.html") + "#ticket/" + "x" * 250)
    deadline = time.monotonic() + 15
    while not (keys := [c for c in conversations(empathy_server.database_url) if "#ticket/" in c]):
        assert time.monotonic() < deadline, "the long-URL conversation never reached the server"
        time.sleep(0.1)
    page.bring_to_front()  # the popup acts on the active tab of its window
    worker = service_worker(extension)
    with extension.expect_page() as opened:
        worker.evaluate(
            "chrome.tabs.create({url: chrome.runtime.getURL('popup/popup.html'), active: false})"
        )
    popup = opened.value
    popup.locator("#pause-conversation:enabled").check()
    deadline = time.monotonic() + 10
    while not (paused := worker.evaluate("EmpathySettings.loadPaused()")["conversations"]):
        assert time.monotonic() < deadline, "the popup stored no paused conversation"
        time.sleep(0.1)
    assert list(paused) == keys
    popup.close()
