"""The extension in a real Chromium against the real server, on pages built from real editors:
a cold phrase gets a nudge over the right words, "Apply" edits through the editor itself, and
neither the page's layout nor the editor's HTML is touched by the overlay."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest

from .conftest import sqlite_path
from .harness import (
    card_is_styled,
    editor_frame,
    editor_html,
    editor_text,
    layout,
    marks,
    open_editor_page,
    text_under,
    type_into_editor,
    wait_for_nudge,
)

DRAFT = "Please calm down, I will check your order now."
EDITORS = [
    "textarea",
    "contenteditable",
    "quill",
    "tiptap",
    "ckeditor",
    "trix",
    "lexical",
    "iframe",
]


def expected_textarea_box(page: Any, prefix: str, words: str) -> dict[str, float]:
    """Where the words sit in the textarea, measured independently with a canvas."""
    return page.evaluate(
        """([prefix, words]) => {
            const ta = document.querySelector('#reply');
            const cs = getComputedStyle(ta);
            const ctx = document.createElement('canvas').getContext('2d');
            ctx.font = cs.font;
            const box = ta.getBoundingClientRect();
            return {
                left: box.left + parseFloat(cs.borderLeftWidth) + parseFloat(cs.paddingLeft)
                      + ctx.measureText(prefix).width,
                width: ctx.measureText(words).width,
            };
        }""",
        [prefix, words],
    )


def assert_marks_cover(page: Any, frame: Any, name: str, flagged: str) -> None:
    boxes = [m for m in marks(frame) if m["rule"] == "calm-down"]
    assert boxes, "no highlight drawn"
    start = DRAFT.lower().index(flagged.lower())
    if name == "textarea":
        want = expected_textarea_box(page, DRAFT[:start], DRAFT[start : start + len(flagged)])
        assert abs(boxes[0]["left"] - want["left"]) < 3, (boxes, want)
        assert abs(sum(b["width"] for b in boxes) - want["width"]) < 4, (boxes, want)
        return
    for box in boxes:
        # Ask the browser which character is under the highlight: it must be inside the phrase.
        hit = text_under(frame, box["left"] + box["width"] / 2, box["top"] + box["height"] / 2)
        assert hit, f"no text under the highlight {box}"
        phrase_at = hit["data"].lower().find(flagged.lower())
        assert phrase_at != -1 and phrase_at <= hit["offset"] <= phrase_at + len(flagged), hit


def feedback_actions(database_url: str) -> list[str]:
    with sqlite3.connect(sqlite_path(database_url)) as db:
        return [row[0] for row in db.execute("SELECT action FROM feedback")]


@pytest.mark.parametrize("name", EDITORS)
def test_nudge_over_the_words_and_apply_through_the_editor(
    extension: Any, empathy_server: Any, pages: Any, name: str
) -> None:
    page = open_editor_page(extension, pages.url(f"{name}.html"))
    frame = editor_frame(page)
    type_into_editor(page, DRAFT)
    html_typed = editor_html(page)  # nudges come >= 300 ms after typing stops: none yet
    layout_typed = layout(page)

    card = wait_for_nudge(frame, "calm-down")
    assert editor_html(page) == html_typed, "the overlay changed the editor's DOM"
    assert layout(page) == layout_typed, "the overlay moved the page's own elements"
    assert card.locator(".question").text_content() == "How would I feel if I were that person?"

    flagged = card.locator(".quote").text_content().strip("“”")
    assert flagged.lower() in DRAFT.lower()
    assert_marks_cover(page, frame, name, flagged)

    suggestion = card.locator(".suggestion-text").first.text_content()
    card.locator("button.apply").first.click()
    start = DRAFT.lower().index(flagged.lower())
    expected = DRAFT[:start] + suggestion + DRAFT[start + len(flagged) :]
    page.wait_for_function("(t) => window.testEditor.text() === t", arg=expected, timeout=5000)
    assert editor_text(page) == expected  # as the editor itself reports it
    if name != "textarea":
        original = DRAFT[start : start + len(flagged)]
        assert editor_html(page) == html_typed.replace(original, suggestion, 1)
    page.wait_for_function(
        "() => !document.querySelector('empathy-engine-nudges')?.shadowRoot"
        ".querySelector(\".card[data-empathy-nudge='calm-down']\")"
        if name != "iframe"
        else "() => true"
    )
    page.close()
    assert "applied" in feedback_actions(empathy_server.database_url)


def test_keyboard_escape_focus_and_apply_shortcut(extension: Any, pages: Any) -> None:
    page = open_editor_page(extension, pages.url("textarea.html"))
    type_into_editor(page, DRAFT)
    card = wait_for_nudge(page, "calm-down")
    assert card_is_styled(card)

    page.keyboard.press("Escape")
    card.wait_for(state="hidden")
    page.keyboard.press("Alt+ArrowDown")
    card.wait_for(state="visible")
    focused = page.evaluate(
        "document.querySelector('empathy-engine-nudges').shadowRoot.activeElement?.textContent"
    )
    assert focused == "Apply"
    page.keyboard.press("Escape")
    card.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.id") == "reply"

    page.keyboard.press("Alt+Enter")
    page.wait_for_function("(t) => window.testEditor.text() !== t", arg=DRAFT)
    assert "calm down" not in editor_text(page).lower()


def test_dismissed_nudge_stays_away_for_that_text(
    extension: Any, empathy_server: Any, pages: Any
) -> None:
    page = open_editor_page(extension, pages.url("contenteditable.html"))
    type_into_editor(page, DRAFT)
    card = wait_for_nudge(page, "calm-down")
    card.locator("button.dismiss").click()
    card.wait_for(state="detached")
    page.keyboard.type(" Thanks.")
    page.wait_for_timeout(1200)  # a fresh nudges frame for the longer draft has come back
    assert page.locator("empathy-engine-nudges .card[data-empathy-nudge='calm-down']").count() == 0
    assert "dismissed" in feedback_actions(empathy_server.database_url)


def test_not_helpful_is_sent_as_feedback(extension: Any, empathy_server: Any, pages: Any) -> None:
    page = open_editor_page(extension, pages.url("quill.html"))
    type_into_editor(page, "Calm down, it's only a parcel.")
    card = wait_for_nudge(page, "calm-down")
    before = feedback_actions(empathy_server.database_url).count("unhelpful")
    card.locator("button.unhelpful").click()
    card.wait_for(state="detached")
    deadline = time.monotonic() + 10
    while feedback_actions(empathy_server.database_url).count("unhelpful") == before:
        assert time.monotonic() < deadline, "'Not helpful' never reached the server"
        time.sleep(0.1)


def test_reattaches_when_the_helpdesk_re_renders_the_composer(extension: Any, pages: Any) -> None:
    page = open_editor_page(extension, pages.url("contenteditable.html"))
    type_into_editor(page, "Hello there.")
    page.wait_for_function("!!document.querySelector('empathy-engine-nudges')")
    # Switching conversations: the desk throws the composer away and renders a new one.
    page.evaluate(
        """() => {
            const fresh = document.createElement('div');
            fresh.id = 'reply';
            fresh.contentEditable = 'true';
            document.querySelector('#reply').replaceWith(fresh);
            window.testEditor.root = fresh;
        }"""
    )
    type_into_editor(page, DRAFT)
    wait_for_nudge(page, "calm-down")
    # The old overlay went with the old box.
    assert page.locator("empathy-engine-nudges").count() == 1
    boxes = [m for m in marks(page) if m["rule"] == "calm-down"]
    hit = text_under(page, boxes[0]["left"] + 2, boxes[0]["top"] + boxes[0]["height"] / 2)
    assert hit and "calm down" in hit["data"].lower()
