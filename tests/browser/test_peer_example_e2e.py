"""End to end: a trainer marks a teammate's reply as a peer example on the replay page (the
real sign-in, list and form), and the extension's nudge card offers it over the live websocket
to an agent of the same team, never to an agent of another team."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assistant.live.peer_examples import cache_for
from assistant.storage import accounts
from assistant.storage.models import Conversation, Message, Nudge, PeerExample
from tests.server.client import Agent

from .harness import NUDGE_HOST, configure, open_editor_page, type_into_editor, wait_for_nudge

TEST_LEXICONS = Path(__file__).resolve().parent.parent / "server" / "lexicons"
TRAINER, PASSWORD = "trainer@support.test", "correct horse battery"
REPLY = "I can hear how upsetting this is, Dana. I'm fixing it right now."
EXAMPLE = "I can hear how upsetting this is. I'm fixing it right now."  # specifics removed


@pytest.fixture
def server(start_server: Any, tmp_path: Path) -> Any:
    live = start_server(
        f"sqlite:///{tmp_path / 'empathy.sqlite3'}",
        EMPATHY_LEXICON_DIR=str(TEST_LEXICONS),
        EMPATHY_SECURE_COOKIES=False,  # plain http on loopback
    )
    with live.runtime.sessions.begin() as session:
        accounts.create_user(session, TRAINER, "trainer", PASSWORD, "support")
    return live


def store_conversation(server: Any) -> tuple[int, int]:
    """A support agent's conversation over the real websocket: a nudged draft, then a kinder
    reply sent. Returns (conversation id, the sent reply's message id)."""
    with Agent(server.ws_url) as carol:
        carol.hello(server.new_token("carol", "support"), "e2e-chat", customer_name="Dana")
        carol.customer("c1", "Third time I'm asking, this is ridiculous.")
        carol.draft("d1", "Please calm down.")
        carol.send({"type": "sent", "id": "s1", "text": REPLY})
        carol.expect("ack", id="s1")
    with server.runtime.sessions() as session:
        conversation_id = session.scalar(
            select(Conversation.id).where(Conversation.external_id == "e2e-chat")
        )
        message_id = session.scalar(
            select(Message.id).where(
                Message.conversation_id == conversation_id, Message.client_id == "s1"
            )
        )
        assert session.scalar(select(Nudge.rule).where(Nudge.conversation_id == conversation_id))
    return conversation_id, message_id


def mark_example(context: Any, server: Any, conversation_id: int, message_id: int) -> None:
    page = context.new_page()
    page.goto(server.url + "login")
    page.fill("input[name=email]", TRAINER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(server.url + "transcripts")
    page.click(f"a[href='/transcripts/{conversation_id}']")
    page.wait_for_url(f"**/transcripts/{conversation_id}*")
    form = page.locator(f"#m{message_id} details.add-example")
    form.locator("summary").click()
    form.locator("select[name=target]").select_option("rule:test-calm-down")
    form.locator("textarea[name=text]").fill(EXAMPLE)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "Saved as a peer example" in page.content()
    page.close()


def card_for(context: Any, settings: dict[str, Any], pages: Any) -> Any:
    """Open the test page as the configured agent, type a cold draft, return the nudge card."""
    configure(context, settings)
    page = open_editor_page(context, pages.url("textarea.html"))
    type_into_editor(page, "Please calm down.")
    return page, wait_for_nudge(page, "test-calm-down")


def test_trainer_marks_an_example_and_the_same_team_gets_it(
    browser: Any, pages: Any, settings_for: Any, server: Any
) -> None:
    conversation_id, message_id = store_conversation(server)
    mark_example(browser, server, conversation_id, message_id)
    with server.runtime.sessions() as session:
        example = session.scalars(select(PeerExample)).one()
        assert (example.rule, example.text) == ("test-calm-down", EXAMPLE)

    # The server picks it up by itself (no restart, no forced reload): within seconds.
    cache = cache_for(server.runtime.sessions)
    deadline = time.monotonic() + 15
    while not any(t.by_rule for t in cache.teams.values()) and time.monotonic() < deadline:
        cache.ensure_started()
        time.sleep(0.1)

    alice = server.new_token("alice", "support")
    page, card = card_for(browser, settings_for(server.url, alice), pages)
    example = card.locator(".peer-example")
    example.wait_for(timeout=10_000)
    assert example.locator(".peer-label").text_content() == "How a teammate put it"
    assert example.locator(".peer-text").text_content() == EXAMPLE
    page.close()

    bob = server.new_token("bob", "billing")
    page, card = card_for(browser, settings_for(server.url, bob), pages)
    assert "Being told to calm down" in card.text_content()  # the same nudge...
    assert card.locator(".peer-example").count() == 0  # ...without the other team's example
    assert EXAMPLE not in page.locator(NUDGE_HOST).inner_text()
    page.close()
