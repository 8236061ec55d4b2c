"""In Debian's chromium (Playwright): a trainer filters to a flagged conversation that came in
over a real websocket, replays it (5×, step, next flag by keyboard), adds a note the agent then
sees on /me, and keeps a reply as a peer example; a hostile transcript renders inert.

EMPATHY_SCREENSHOTS=1 refreshes docs/images/trainers-*.png."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from assistant.storage import accounts
from assistant.storage.models import Conversation, Message, PeerExample, User
from tests.editor.conftest import PASSWORD, PEOPLE, TEST_LEXICONS, make_people
from tests.server.client import Agent

from .conftest import XSS_TEXT, seed_conversations

CHROMIUM = Path("/usr/bin/chromium")
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} missing (apt-get install chromium)"
)


@pytest.fixture
def server(start_server: Any, tmp_path: Path) -> Any:
    live = start_server(
        f"sqlite:///{tmp_path / 'trainers.sqlite3'}",
        EMPATHY_LEXICON_DIR=str(TEST_LEXICONS),
        EMPATHY_SECURE_COOKIES=False,
    )
    make_people(live.runtime)
    seed_conversations(live.runtime)  # other conversations around ours, as in real life
    with live.runtime.sessions.begin() as session:
        me = session.scalar(select(User).where(User.email == PEOPLE["agent"][0]))
        live.agent_token = accounts.mint_token(session, me)
    return live


def chat_over_websocket(server: Any) -> None:
    """Two conversations through the live server, with client timestamps 10-20 s apart."""
    start = (time.time() - 300) * 1000
    with Agent(server.ws_url) as agent:
        agent.hello(server.agent_token, "ws-parcel")
        agent.customer("m1", "Where is my parcel? Third time I'm asking.", ts=start)
        items = agent.draft("d1", "Please calm down. We apologize for any inconvenience.")
        calm = next(i["id"] for i in items["items"] if i["rule"] == "test-calm-down")
        agent.send({"type": "feedback", "nudge": calm, "action": "applied"})
        agent.draft("d2", "We apologize for any inconvenience. I'm checking now.")
        agent.sent("s1", "We apologize for any inconvenience. I'm checking now.", ts=start + 20e3)
        agent.customer("m2", "Thanks.", ts=start + 30e3)
        agent.sent("s2", "It's on the van today. Anything else?", ts=start + 40e3)
    with Agent(server.ws_url) as agent:
        agent.hello(server.agent_token, "ws-hostile")
        agent.customer("m1", XSS_TEXT, ts=start)
        agent.sent("s1", "calm down " + XSS_TEXT, ts=start + 10e3)


def sign_in(chromium: Any, server: Any, who: str) -> Any:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.dialogs = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))

    def dialog(d: Any) -> None:
        page.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.goto(server.url + "login")
    page.get_by_label("E-mail").fill(PEOPLE[who][0])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me" if who == "agent" else "**/lexicon/")
    return page


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("EMPATHY_SCREENSHOTS"):
        IMAGES.mkdir(exist_ok=True)
        page.screenshot(path=str(IMAGES / f"trainers-{name}.png"), full_page=True)


def stored(server: Any, external_id: str) -> tuple[int, list[Message]]:
    with server.runtime.sessions() as session:
        cid = session.scalar(select(Conversation.id).where(Conversation.external_id == external_id))
        messages = list(
            session.scalars(
                select(Message).where(Message.conversation_id == cid).order_by(Message.id)
            )
        )
    return cid, messages


def test_trainer_filters_replays_notes_and_keeps_an_example(chromium: Any, server: Any) -> None:
    chat_over_websocket(server)
    cid, messages = stored(server, "ws-parcel")
    reply = messages[1]
    trainer = sign_in(chromium, server, "trainer")

    # Filter to the conversation: this agent, nudge applied.
    trainer.get_by_role("link", name="Transcripts").click()
    trainer.get_by_label("Agent").fill("agent")
    trainer.get_by_label("Outcome").select_option("applied")
    trainer.get_by_role("button", name="Filter").click()
    expect(trainer.get_by_role("link", name="ws-parcel")).to_be_visible()
    expect(trainer.get_by_role("link", name="ws-hostile")).to_have_count(0)
    expect(trainer.get_by_role("link", name="chat-sent-anyway")).to_have_count(0)  # sam's
    screenshot(trainer, "list")
    trainer.get_by_role("link", name="ws-parcel").click()
    trainer.wait_for_url(f"**/transcripts/{cid}")

    status = trainer.locator("#replay-status")
    expect(status).to_have_attribute("data-shown", "4")  # everything, before any replay
    calm = trainer.locator(f"#m{reply.id} .flags")
    expect(calm).to_contain_text("test-calm-down")
    expect(calm).to_contain_text("applied")
    expect(calm).to_contain_text("sent anyway")  # the inconvenience apology stayed
    expect(trainer.locator(f"#m{reply.id} .wait")).to_have_text("customer waited 20 s")

    # Play at 5×: starts from the first message, ends with all four shown.
    trainer.locator("#replay-speed").select_option("5")
    trainer.locator("body").click(position={"x": 5, "y": 300})
    trainer.keyboard.press(" ")
    expect(status).to_contain_text("Playing")
    expect(trainer.locator(f"#m{messages[3].id}")).to_be_hidden()  # 4 s at 5×: not yet
    expect(status).to_have_attribute("data-shown", "4", timeout=30_000)
    expect(status).to_contain_text("All shown")

    # Step back to the first message, then "n" jumps to the nudged reply.
    for _ in range(3):
        trainer.keyboard.press("ArrowLeft")
    expect(status).to_have_attribute("data-shown", "1")
    expect(trainer.locator(f"#m{reply.id}")).to_be_hidden()
    trainer.keyboard.press("ArrowRight")
    expect(status).to_have_attribute("data-shown", "2")
    trainer.keyboard.press("ArrowLeft")
    trainer.keyboard.press("n")
    expect(status).to_have_attribute("data-shown", "2")
    expect(trainer.locator(f"#m{reply.id}")).to_have_class(
        "msg agent flagged current", timeout=5_000
    )
    trainer.get_by_role("button", name="Show all").click()
    screenshot(trainer, "replay")

    # A coaching note on the reply.
    box = trainer.locator(f"#m{reply.id}")
    box.get_by_text("Add a coaching note").click()
    box.get_by_label("Note for the agent").fill("Dropping “calm down” was the right call.")
    box.get_by_label("Note for the agent").press("ArrowLeft")  # typing never drives the replay
    expect(status).to_have_attribute("data-shown", "4")
    box.get_by_role("button", name="Save note").click()
    expect(trainer.locator(f"#m{reply.id} .note")).to_contain_text("the right call")

    # Keep it as a peer example, edited.
    box = trainer.locator(f"#m{reply.id}")
    box.get_by_text("Keep as a peer example").click()
    text = box.get_by_label("Text teammates will see")
    expect(text).to_have_value(reply.text)  # pre-filled with the stored text
    expect(box.get_by_text("Remove specifics first")).to_be_visible()
    box.get_by_label("A good example for").select_option("rule:test-calm-down")
    text.fill("I'm sorry this has dragged on. I'm checking right now.")
    box.get_by_role("button", name="Save example for team support").click()
    expect(trainer.get_by_text("Saved as a peer example")).to_be_visible()
    trainer.get_by_role("link", name="Peer examples").click()
    expect(trainer.get_by_text("I'm sorry this has dragged on.")).to_be_visible()
    with server.runtime.sessions() as session:
        (example,) = session.scalars(select(PeerExample))
        assert example.rule == "test-calm-down" and example.message_id == reply.id
        assert example.team_id == session.scalar(
            select(Conversation.team_id).where(Conversation.id == cid)
        )
    assert trainer.errors == [] and trainer.dialogs == []

    # The agent sees the note on "my coaching", and cannot open a teammate's conversation.
    agent = sign_in(chromium, server, "agent")
    expect(agent.get_by_text("Dropping “calm down” was the right call.")).to_be_visible()
    screenshot(agent, "me")
    agent.get_by_role("link", name="Conversation ws-parcel").click()
    expect(agent.get_by_text("Add a coaching note")).to_have_count(0)
    sam_chat, _ = stored(server, "chat-sent-anyway")
    response = agent.goto(f"{server.url}transcripts/{sam_chat}")
    assert response.status == 404
    assert agent.errors == []


def test_hostile_transcript_renders_inert(chromium: Any, server: Any) -> None:
    chat_over_websocket(server)
    cid, messages = stored(server, "ws-hostile")
    assert "<script>" in messages[0].text and "onerror" in messages[1].text  # stored as typed
    trainer = sign_in(chromium, server, "trainer")
    trainer.goto(f"{server.url}transcripts/{cid}")
    expect(trainer.locator(f"#m{messages[0].id} .text")).to_have_text(messages[0].text)
    expect(trainer.locator(f"#m{messages[1].id} .text")).to_have_text(messages[1].text)
    assert trainer.locator("#transcript script, #transcript img").count() == 0
    # Play it through too: the replay only toggles visibility, it never parses the text.
    trainer.locator("body").click(position={"x": 5, "y": 300})
    trainer.keyboard.press("n")
    trainer.get_by_role("button", name="Show all").click()
    box = trainer.locator(f"#m{messages[1].id}")
    box.get_by_text("Add a coaching note").click()
    box.get_by_label("Note for the agent").fill(XSS_TEXT)
    box.get_by_role("button", name="Save note").click()
    expect(trainer.locator(f"#m{messages[1].id} .note p")).to_have_text(XSS_TEXT)

    agent = sign_in(chromium, server, "agent")
    expect(agent.locator(".note p").first).to_have_text(XSS_TEXT)
    expect(agent.locator(".note blockquote").first).to_have_text(messages[1].text)
    for page in (trainer, agent):
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.dialogs == [] and page.errors == []
        assert page.locator("main script, main img").count() == 0
