"""What leaves the browser, checked where it lands: the server's database. Customer and sent
messages are delivered exactly once, through a server restart; pages that are not enabled (or
opted out) send nothing; a customer left waiting brings a nudge without any typing."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import conversations, stored_messages
from .harness import (
    RestartableServer,
    configure,
    open_editor_page,
    outbox,
    service_worker,
    type_into_editor,
    wait_for_nudge,
)

CUSTOMER_TEXTS = [
    "My order #4411 never arrived and I'm really upset.",
    "I have been waiting for two weeks!",
]


def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll until check() is truthy (the browser and server work asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, f"timed out waiting for {what}"
            return result
        time.sleep(0.1)


def add_customer_message(page: Any, text: str) -> None:
    page.evaluate(
        """(text) => {
            const li = document.createElement('li');
            li.className = 'msg customer';
            const span = document.createElement('span');
            span.className = 'text';
            span.textContent = text;
            li.append(span);
            document.querySelector('#thread').append(li);
        }""",
        text,
    )


def test_customer_messages_are_sent_once_even_after_a_reload(
    extension: Any, empathy_server: Any, pages: Any
) -> None:
    url = pages.url("textarea.html") + "?reload-test"
    page = open_editor_page(extension, url)
    like = f"%{pages.origin}/on/pages/textarea.html%"

    def texts() -> list[str]:
        return [text for _, author, text in stored_messages(empathy_server.database_url, like)]

    eventually(lambda: len(texts()) >= 2, what="the customer messages to be stored")
    page.reload()
    page.wait_for_function("!!window.testEditor")
    add_customer_message(page, "Hello? Anyone there?")
    eventually(lambda: len(texts()) >= 3, what="the new customer message")
    assert sorted(texts()) == sorted([*CUSTOMER_TEXTS, "Hello? Anyone there?"])
    authors = [author for _, author, _ in stored_messages(empathy_server.database_url, like)]
    assert set(authors) == {"customer"}


@pytest.mark.parametrize("page_url", ["disabled site", "opted out", "paused conversation"])
def test_nothing_is_sent_from_pages_not_enabled(
    extension: Any, empathy_server: Any, pages: Any, page_url: str
) -> None:
    # A control page on an enabled site proves the extension is live in this browser.
    control = open_editor_page(extension, pages.url("contenteditable.html"))
    type_into_editor(control, "Calm down please.")
    wait_for_nudge(control, "calm-down")

    if page_url == "disabled site":
        url = pages.url("textarea.html", enabled=False)
    elif page_url == "opted out":
        url = pages.url("optout.html")
    else:  # what the popup's "Pause nudges for this conversation" switch stores
        url = pages.url("textarea.html") + "#paused-conversation"
        service_worker(extension).evaluate(
            "(key) => EmpathySettings.setPaused('conversations', key, true)", url
        )
    page = open_editor_page(extension, url)
    type_into_editor(page, "Please calm down, as per our policy.")
    page.locator("#send").click()
    # The control page's next draft is answered, so anything the other page sent would be too.
    control.bring_to_front()
    control.keyboard.type(" Relax.")
    control.wait_for_timeout(1500)
    assert page.locator("empathy-engine-nudges").count() == 0

    stored = stored_messages(empathy_server.database_url, "%")
    assert not [m for m in stored if "as per our policy" in m[2]], stored
    if page_url == "disabled site":
        assert not [c for c in conversations(empathy_server.database_url) if "/off/" in c]
    if page_url == "paused conversation":
        assert not [c for c in conversations(empathy_server.database_url) if "#paused" in c]


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RestartableServer]:
    """A server this test may stop and restart."""
    server = RestartableServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_queue_survives_a_server_restart_without_loss_or_duplicates(
    browser: Any, own_server: RestartableServer, pages: Any, settings_for: Any
) -> None:
    configure(browser, settings_for(own_server.url, own_server.new_token()))
    page = open_editor_page(browser, pages.url("textarea.html") + "?restart-test")
    db = own_server.database_url

    eventually(lambda: len(stored_messages(db)) == 2, what="the first customer messages")
    own_server.stop()

    # While the server is down: two more customer messages and a sent reply.
    add_customer_message(page, "Are you still there?")
    add_customer_message(page, "This is taking forever.")
    type_into_editor(page, "I'm here, and I'm looking at your order right now.")
    page.locator("#send").click()
    queued = eventually(lambda: len(outbox(browser)) == 3 and outbox(browser), what="3 queued")
    assert sorted(e["frame"]["type"] for e in queued) == ["customer", "customer", "sent"]

    own_server.start()
    eventually(lambda: not outbox(browser), timeout=40, what="the outbox to drain after restart")
    stored = stored_messages(db)
    ids = Counter(client_id for client_id, _, _ in stored)
    assert all(count == 1 for count in ids.values()), ids
    assert [(author, text) for _, author, text in stored] == [
        ("customer", CUSTOMER_TEXTS[0]),
        ("customer", CUSTOMER_TEXTS[1]),
        ("customer", "Are you still there?"),
        ("customer", "This is taking forever."),
        ("agent", "I'm here, and I'm looking at your order right now."),
    ]
    type_into_editor(page, "Please calm down.")  # coaching is back too, not only delivery
    wait_for_nudge(page, "calm-down", timeout=20)
    page.close()


def test_customer_left_waiting_brings_a_nudge_without_typing(
    browser: Any, own_server: RestartableServer, pages: Any, settings_for: Any
) -> None:
    token = own_server.new_token()
    own_server.cli("teams", "set-wait", "default", "2")  # customers count as waiting after 2 s
    configure(browser, settings_for(own_server.url, token))
    page = open_editor_page(browser, pages.url("textarea.html") + "?waiting-test")
    page.evaluate("window.testEditor.root.focus()")  # the composer is there; nothing typed
    card = wait_for_nudge(page, "customer-waiting", timeout=20)
    assert card.locator(".message").text_content()
    assert page.evaluate("window.testEditor.text()") == ""
    card.locator("button.apply").first.click()  # a quick "I'm still on it" goes into the box
    page.wait_for_function("window.testEditor.text().length > 0")
    page.close()


def test_moving_to_another_ticket_with_push_state_starts_a_new_conversation(
    extension: Any, empathy_server: Any, pages: Any
) -> None:
    page = open_editor_page(extension, pages.url("textarea.html") + "?spa-test")
    first = f"{pages.origin}/on/pages/textarea.html"
    db = empathy_server.database_url
    eventually(lambda: len(stored_messages(db, first)) >= 2, what="the first ticket's messages")
    # What a single-page helpdesk (Chatwoot) does: pushState (no event) and a new thread.
    page.evaluate(
        """() => {
            history.pushState({}, '', location.pathname + '/conversations/2');
            document.querySelector('#thread').replaceChildren();
        }"""
    )
    add_customer_message(page, "Second ticket: my refund is late.")
    second = f"{first}/conversations/2"
    eventually(lambda: stored_messages(db, second), what="the second ticket's message")
    assert [text for _, _, text in stored_messages(db, second)] == [
        "Second ticket: my refund is late."
    ]
    assert "Second ticket: my refund is late." not in [m[2] for m in stored_messages(db, first)]
    page.close()


def fill_storage_to_the_brim(worker: Any, leave: int) -> None:
    """Real quota pressure: leave only `leave` bytes of chrome.storage.local's 10 MB."""
    worker.evaluate(
        """async (leave) => {
            const used = await chrome.storage.local.getBytesInUse(null);
            const room = chrome.storage.local.QUOTA_BYTES - used - 'junk'.length - 2 - leave;
            await chrome.storage.local.set({junk: 'x'.repeat(room)});
        }""",
        leave,
    )


def test_outbox_survives_a_failed_write_keys_by_conversation_and_drops_refused_messages(
    browser: Any, own_server: RestartableServer, settings_for: Any
) -> None:
    configure(browser, settings_for(own_server.url, own_server.new_token()))
    worker = service_worker(browser)
    own_server.stop()  # nothing is acked: everything stays queued
    enqueue = "([conversation, frame]) => enqueue(conversation, frame)"
    conv_a, conv_b = "https://desk.example/ticket/a", "https://desk.example/ticket/b"

    def queued() -> list[tuple[str, str]]:  # this test's entries (the worker is shared)
        return [
            (e["conversation"], e["frame"]["id"])
            for e in outbox(browser)
            if e["conversation"] in (conv_a, conv_b)
        ]

    fill_storage_to_the_brim(worker, leave=100)
    worker.evaluate(enqueue, [conv_a, {"type": "customer", "id": "m1", "text": "y" * 1000}])
    assert queued() == [], "the write should have failed for lack of room"
    worker.evaluate("chrome.storage.local.remove('junk')")
    # The same client id in another conversation is another message, not a duplicate.
    worker.evaluate(enqueue, [conv_b, {"type": "customer", "id": "m1", "text": "Hello from B"}])
    assert queued() == [(conv_a, "m1"), (conv_b, "m1")], "no write after one failed write"

    # Refused for good by the server (text over 20,000 characters: bad-frame): not resent forever.
    worker.evaluate(enqueue, [conv_a, {"type": "customer", "id": "m2", "text": "z" * 20001}])
    # Too large to send at all (control characters are escaped to 6 bytes each in JSON).
    worker.evaluate(enqueue, [conv_a, {"type": "customer", "id": "m3", "text": "\x01" * 12000}])
    assert (conv_a, "m3") not in queued()

    own_server.start()
    eventually(lambda: not queued(), timeout=40, what="the outbox to drain")
    stored = stored_messages(own_server.database_url)
    assert sorted((client_id, text[:12]) for client_id, _, text in stored) == [
        ("m1", "Hello from B"),
        ("m1", "y" * 12),
    ]
    notes = worker.evaluate("chrome.storage.local.get('outboxRejected')")["outboxRejected"]
    assert {(n["id"], n["code"]) for n in notes} >= {("m2", "bad-frame"), ("m3", "frame-too-large")}
    assert all("text" not in n for n in notes)  # no customer text kept for refused messages


def test_outbox_drops_entries_older_than_a_week(browser: Any, settings_for: Any) -> None:
    configure(browser, settings_for("http://127.0.0.1:9/", "no-server-here"))
    worker = service_worker(browser)
    week = 7 * 24 * 3600 * 1000
    worker.evaluate(
        """async (week) => {
            await loadOutbox();
            outbox.push({conversation: 'https://desk.example/old', hello: {},
                         frame: {type: 'customer', id: 'old', text: 'old'},
                         queuedAt: Date.now() - week - 60000});
            await enqueue('https://desk.example/new', {type: 'customer', id: 'new', text: 'new'});
        }""",
        week,
    )
    try:
        assert [e["frame"]["id"] for e in outbox(browser)] == ["new"]
    finally:  # this browser is shared: leave no queued message for the next test's server
        worker.evaluate("outbox.length = 0; saveOutbox()")


def test_a_customer_name_shown_after_the_first_hello_reaches_the_server(
    browser: Any, empathy_server: Any, pages: Any, settings_for: Any
) -> None:
    settings = settings_for(empathy_server.url, empathy_server.token)
    settings["rules"][0]["customerName"] = ".customer-name"
    configure(browser, settings)
    page = open_editor_page(browser, pages.url("textarea.html") + "?late-name")
    like = f"{pages.origin}/on/pages/textarea.html"
    eventually(lambda: stored_messages(empathy_server.database_url, like), what="the first hello")
    # The helpdesk renders the customer's name only now, after the socket said hello.
    page.evaluate(
        """() => {
            const name = document.createElement('span');
            name.className = 'customer-name';
            name.textContent = 'Dana';
            document.querySelector('#top').append(name);
        }"""
    )
    type_into_editor(page, "Dear valued customer, we have received your request.")
    eventually(
        lambda: any(
            "Dana" in text
            for text in page.locator(
                "empathy-engine-nudges .card[data-empathy-nudge='valued-customer'] .suggestion-text"
            ).all_text_contents()
        ),
        what="a suggestion that uses the customer's name",
    )
    page.close()


def test_a_discard_button_that_empties_the_box_is_not_a_sent_reply(
    extension: Any, empathy_server: Any, pages: Any
) -> None:
    page = open_editor_page(extension, pages.url("textarea.html") + "#discard-test")
    page.evaluate(
        """() => {
            const discard = document.createElement('button');
            discard.id = 'discard';
            discard.type = 'button';
            discard.textContent = 'Discard draft';
            discard.addEventListener('click', () => window.testEditor.clear());
            document.querySelector('footer').append(discard);
        }"""
    )
    like = f"{pages.origin}/on/pages/textarea.html#discard-test"

    def agent_texts() -> list[str]:
        return [t for _, a, t in stored_messages(empathy_server.database_url, like) if a == "agent"]

    type_into_editor(page, "Never mind this draft.")
    page.locator("#discard").click()
    page.wait_for_function("window.testEditor.text() === ''")
    type_into_editor(page, "Your parcel is on its way, and here is the tracking link.")
    page.locator("#send").click()
    eventually(agent_texts, what="the sent reply")
    assert agent_texts() == ["Your parcel is on its way, and here is the tracking link."]
    page.close()


def test_an_unlabelled_send_icon_counts_when_the_site_names_it(
    browser: Any, empathy_server: Any, pages: Any, settings_for: Any
) -> None:
    settings = settings_for(empathy_server.url, empathy_server.token)
    settings["rules"][0]["send"] = "#paper-plane"  # the options page's "Send button" selector
    configure(browser, settings)
    page = open_editor_page(browser, pages.url("textarea.html") + "#icon-send")
    page.evaluate(
        """() => {
            const icon = document.createElement('button');
            icon.id = 'paper-plane';
            icon.type = 'button';
            icon.textContent = '➤';
            icon.addEventListener('click', () => window.testEditor.clear());
            document.querySelector('footer').append(icon);
        }"""
    )
    type_into_editor(page, "Sent with the paper plane.")
    page.locator("#paper-plane").click()
    like = f"{pages.origin}/on/pages/textarea.html#icon-send"
    eventually(
        lambda: (
            [t for _, a, t in stored_messages(empathy_server.database_url, like) if a == "agent"]
            == ["Sent with the paper plane."]
        ),
        what="the reply sent with the site's send icon",
    )
    page.close()


def test_messages_refused_over_the_rate_limit_are_resent_and_stored_once(
    browser: Any, tmp_path: Path, pages: Any, settings_for: Any
) -> None:
    """The server drops frames past its rate limit unread (`rate-limited`, no id): the
    extension resends what is unacked once the burst is over, without a reconnect."""
    server = RestartableServer(tmp_path, EMPATHY_FRAMES_PER_SECOND="1", EMPATHY_FRAME_BURST="2")
    server.start()
    try:
        configure(browser, settings_for(server.url, server.new_token()))
        page = open_editor_page(browser, pages.url("textarea.html") + "?flood-test")
        db = server.database_url
        flood = [f"Message number {n}, are you there?" for n in range(8)]
        for text in flood:
            add_customer_message(page, text)
        expected = sorted([*CUSTOMER_TEXTS, *flood])
        eventually(
            lambda: sorted(t for _, _, t in stored_messages(db)) == expected,
            timeout=60,
            what="every flooded message to be stored",
        )
        eventually(lambda: not outbox(browser), timeout=20, what="the outbox to drain")
        ids = Counter(client_id for client_id, _, _ in stored_messages(db))
        assert all(count == 1 for count in ids.values()), ids
        page.close()
    finally:
        server.stop()
