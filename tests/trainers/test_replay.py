"""Replay, coaching notes, peer examples, "my coaching", agent isolation, CSRF and audit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from assistant.storage.models import AuditEvent, CoachingNote, Message, PeerExample, User
from assistant.trainers.examples import examples_for_team

from .conftest import PASSWORD, XSS_TEXT


def _agent_message(app: Any, conversation_id: int) -> int:
    with app.extensions["empathy"].sessions() as session:
        return session.scalar(
            select(Message.id)
            .where(Message.conversation_id == conversation_id, Message.author == "agent")
            .order_by(Message.id)
        )


def test_replay_shows_messages_nudges_outcomes_and_waits(seeded, browser_for) -> None:
    page = browser_for("trainer").get(f"/transcripts/{seeded['applied']}").get_data(as_text=True)
    assert page.index("My parcel never came") < page.index("sending a new one today")
    assert "as-per-policy" in page and "Q3" in page and "As per our policy" in page
    assert "applied" in page
    assert "customer waited 2 s" in page  # the customer's message at 0 s, the reply at 2 s
    mixed = browser_for("trainer").get(f"/transcripts/{seeded['mixed']}").get_data(as_text=True)
    assert "customer waiting" in mixed and "dismissed" in mixed and "rewritten" in mixed
    sent = browser_for("admin").get(f"/transcripts/{seeded['sent-anyway']}")
    assert "sent anyway" in sent.get_data(as_text=True)


def test_replay_escapes_stored_text(seeded, browser_for) -> None:
    page = browser_for("trainer").get(f"/transcripts/{seeded['xss']}").get_data(as_text=True)
    assert XSS_TEXT not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    assert "<mark>As per our policy</mark>" in page


@pytest.mark.parametrize(
    ("who", "label", "status"),
    [
        ("trainer", "imported", 404),  # another team's conversation
        ("lead", "imported", 404),
        ("other-lead", "applied", 404),
        ("agent", "sent-anyway", 404),  # another agent's conversation, same team
        ("agent", "applied", 200),  # their own
        ("admin", "imported", 200),
    ],
)
def test_who_may_open_a_conversation(who, label, status, seeded, browser_for) -> None:
    assert browser_for(who).get(f"/transcripts/{seeded[label]}").status_code == status


def test_agents_have_no_list_and_no_coaching_tools(seeded, browser_for) -> None:
    agent = browser_for("agent")
    assert agent.get("/transcripts").status_code == 403
    assert agent.get("/peer-examples").status_code == 403
    page = agent.get(f"/transcripts/{seeded['applied']}").get_data(as_text=True)
    assert "Add a coaching note" not in page and "Keep as a peer example" not in page
    mid = _agent_message(agent.client.application, seeded["applied"])
    url = f"/transcripts/{seeded['applied']}/messages/{mid}/notes"
    assert agent.post(url, {"body": "I coach myself"}).status_code == 403


def test_note_reaches_the_agent_and_only_them(seeded, editor_app, browser_for) -> None:
    mid = _agent_message(editor_app, seeded["applied"])
    trainer = browser_for("trainer")
    body = "Lovely recovery <b>here</b> — naming the delay helped."
    response = trainer.post(
        f"/transcripts/{seeded['applied']}/messages/{mid}/notes", {"body": body}
    )
    assert response.status_code == 302
    assert "&lt;b&gt;here&lt;/b&gt;" in trainer.get(response.headers["Location"]).get_data(
        as_text=True
    )
    mine = browser_for("agent").get("/me").get_data(as_text=True)
    assert "&lt;b&gt;here&lt;/b&gt;" in mine and "trainer" in mine
    assert "chat-applied" in mine
    # sam (the other support agent) signs in with a token: sees no note of someone else's.
    token = _token_for(editor_app, "sam")
    sam = browser_for(None)
    signed = sam.post("/login/token", {"token": token})
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/me")
    page = sam.get("/me").get_data(as_text=True)
    assert "No coaching notes yet." in page and "naming the delay" not in page
    assert sam.get(f"/transcripts/{seeded['applied']}").status_code == 404
    assert sam.get(f"/transcripts/{seeded['sent-anyway']}").status_code == 200
    with editor_app.extensions["empathy"].sessions() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert "note.create" in actions


def _token_for(app: Any, name: str) -> str:
    from assistant.storage import accounts

    with app.extensions["empathy"].sessions.begin() as session:
        user = session.scalar(select(User).where(User.name == name))
        return accounts.mint_token(session, user)


def test_token_sign_in_ends_when_the_token_is_revoked(seeded, editor_app, browser_for) -> None:
    from assistant.storage import accounts

    token = _token_for(editor_app, "sam")
    sam = browser_for(None)
    assert sam.post("/login/token", {"token": token}).status_code == 302
    assert sam.get("/me").status_code == 200
    with editor_app.extensions["empathy"].sessions.begin() as session:
        accounts.revoke_tokens(session, token=token)
    assert sam.get("/me").status_code == 302  # back to sign-in


def test_a_wrong_token_is_refused_and_throttled(seeded, browser_for) -> None:
    browser = browser_for(None)
    for _ in range(5):
        page = browser.post("/login/token", {"token": "ee_abcd_wrong"})
        assert page.status_code == 200 and "not a valid agent token" in page.get_data(as_text=True)
    assert browser.post("/login/token", {"token": "ee_abcd_wrong"}).status_code == 429
    assert browser.get("/me").status_code == 302


def test_agent_with_a_password_lands_on_my_coaching(seeded, browser_for) -> None:
    browser = browser_for(None)
    response = browser.sign_in("agent@example.test", PASSWORD)
    assert response.headers["Location"].endswith("/me")


def test_note_validation_and_deletion(seeded, editor_app, browser_for) -> None:
    mid = _agent_message(editor_app, seeded["applied"])
    url = f"/transcripts/{seeded['applied']}/messages/{mid}/notes"
    trainer, lead, admin = browser_for("trainer"), browser_for("lead"), browser_for("admin")
    assert trainer.post(url, {"body": "   "}).status_code == 302
    assert trainer.post(url, {"body": "x" * 5000}).status_code == 302
    other = f"/transcripts/{seeded['imported']}/messages/{mid}/notes"
    assert trainer.post(other, {"body": "wrong team"}).status_code == 404
    assert lead.post(url, {"body": "From the lead."}).status_code == 302
    with editor_app.extensions["empathy"].sessions() as session:
        notes = list(session.scalars(select(CoachingNote)))
    assert [n.body for n in notes] == ["From the lead."]
    assert trainer.post(f"/notes/{notes[0].id}/delete").status_code == 403  # not theirs
    assert admin.post(f"/notes/{notes[0].id}/delete").status_code == 302
    with editor_app.extensions["empathy"].sessions() as session:
        assert session.scalar(select(CoachingNote.id)) is None
        actions = list(session.scalars(select(AuditEvent.action)))
    assert actions.count("note.delete") == 1


def test_forms_need_the_csrf_token(seeded, editor_app, browser_for) -> None:
    mid = _agent_message(editor_app, seeded["applied"])
    trainer = browser_for("trainer")
    base = f"/transcripts/{seeded['applied']}/messages/{mid}"
    for url, data in (
        (f"{base}/notes", {"body": "no token"}),
        (f"{base}/peer-example", {"target": "question:2", "text": "no token"}),
        ("/login/token", {"token": "ee_x_y"}),
    ):
        response = trainer.client.post(url, data=data)
        assert response.status_code == 400, url
    with editor_app.extensions["empathy"].sessions() as session:
        assert session.scalar(select(CoachingNote.id)) is None
        assert session.scalar(select(PeerExample.id)) is None


def test_peer_examples(seeded, editor_app, browser_for) -> None:
    mid = _agent_message(editor_app, seeded["applied"])
    url = f"/transcripts/{seeded['applied']}/messages/{mid}/peer-example"
    trainer = browser_for("trainer")
    page = trainer.get(f"/transcripts/{seeded['applied']}").get_data(as_text=True)
    assert "Remove specifics first" in page
    assert (
        trainer.post(
            url, {"target": "rule:as-per-policy", "text": "I'm sorry — new one today."}
        ).status_code
        == 302
    )
    assert (
        trainer.post(url, {"target": "question:2", "text": "Edited <i>kindly</i>."}).status_code
        == 302
    )
    assert trainer.post(url, {"target": "question:9", "text": "bad"}).status_code == 302  # refused
    customer = _customer_message(editor_app, seeded["applied"])
    customer_url = f"/transcripts/{seeded['applied']}/messages/{customer}/peer-example"
    assert trainer.post(customer_url, {"target": "question:2", "text": "x"}).status_code == 400
    other_lead = browser_for("other-lead")
    assert other_lead.post(url, {"target": "question:1", "text": "x"}).status_code == 404

    runtime = editor_app.extensions["empathy"]
    with runtime.sessions() as session:
        examples = list(session.scalars(select(PeerExample).order_by(PeerExample.id)))
        support = examples[0].team_id
        assert [(e.rule, e.question) for e in examples] == [("as-per-policy", None), (None, 2)]
        assert [e.id for e in examples_for_team(session, support)] == [e.id for e in examples]
    listing = trainer.get("/peer-examples").get_data(as_text=True)
    assert "Edited &lt;i&gt;kindly&lt;/i&gt;." in listing
    assert "Edited" not in other_lead.get("/peer-examples").get_data(as_text=True)
    assert (
        other_lead.post(f"/peer-examples/{examples[0].id}/active", {"active": "0"}).status_code
        == 404
    )

    assert (
        trainer.post(f"/peer-examples/{examples[0].id}/active", {"active": "0"}).status_code == 302
    )
    assert trainer.post(f"/peer-examples/{examples[1].id}/delete").status_code == 302
    with runtime.sessions() as session:
        assert examples_for_team(session, support) == []
        assert session.scalar(select(PeerExample.active)) is False
        actions = sorted(session.scalars(select(AuditEvent.action)))
    assert actions == [
        "peer_example.create",
        "peer_example.create",
        "peer_example.deactivate",
        "peer_example.delete",
    ]


def _customer_message(app: Any, conversation_id: int) -> int:
    with app.extensions["empathy"].sessions() as session:
        return session.scalar(
            select(Message.id).where(
                Message.conversation_id == conversation_id, Message.author == "customer"
            )
        )


def test_notes_and_examples_are_stored_redacted(seeded, editor_app, browser_for) -> None:
    mid = _agent_message(editor_app, seeded["applied"])
    base = f"/transcripts/{seeded['applied']}/messages/{mid}"
    private = "card 4111 1111 1111 1111, mail jo.doe@example.com"
    trainer = browser_for("trainer")
    assert (
        trainer.post(f"{base}/notes", {"body": f"Don't repeat the {private}."}).status_code == 302
    )
    example = {"target": "question:2", "text": f"I'm sorry, {private}."}
    assert trainer.post(f"{base}/peer-example", example).status_code == 302
    with editor_app.extensions["empathy"].sessions() as session:
        stored = [
            *session.scalars(select(CoachingNote.body)),
            *session.scalars(select(PeerExample.text)),
        ]
    assert len(stored) == 2
    for text in stored:
        assert "4111" not in text and "jo.doe@example.com" not in text, text
        assert "[card]" in text and "[email]" in text


def test_replay_loads_findings_and_feedback_in_a_fixed_number_of_queries(
    seeded, editor_app
) -> None:
    """Messages, their findings, nudges, their feedback and notes: five SELECTs however long
    the conversation (lazy loads would add one per message and one per nudge)."""
    from sqlalchemy import event

    from assistant.storage.models import Conversation, Nudge
    from assistant.trainers import queries

    runtime = editor_app.extensions["empathy"]
    with runtime.sessions.begin() as session:  # a longer conversation: 20 replies, 20 nudges
        conversation = session.get(Conversation, seeded["applied"])
        for n in range(20):
            reply = Message(
                conversation_id=conversation.id,
                client_id=f"x{n}",
                author="agent",
                text=f"Reply {n}",
                sent_at=conversation.created_at,
            )
            session.add(reply)
            session.flush()
            session.add(
                Nudge(
                    public_id=f"x-{n}",
                    conversation_id=conversation.id,
                    trigger="draft",
                    rule="cold-no",
                    category="test",
                    question=4,
                    severity="suggestion",
                    message_id=reply.id,
                    shown_at=conversation.created_at,
                )
            )
    statements: list[str] = []
    with runtime.sessions() as session:
        bind = session.connection().engine

        def count(_conn, _cursor, statement, *_args) -> None:
            statements.append(statement)

        event.listen(bind, "before_cursor_execute", count)
        try:
            items = queries.replay_items(session, seeded["applied"])
        finally:
            event.remove(bind, "before_cursor_execute", count)
    assert sum(1 for i in items if i["kind"] == "message") == 24
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 5, selects


def test_note_flash_says_whether_an_agent_sees_it(seeded, editor_app, browser_for) -> None:
    from assistant.storage.models import Conversation

    with editor_app.extensions["empathy"].sessions.begin() as session:
        session.get(Conversation, seeded["imported"]).agent_id = None  # an imported name only
    admin = browser_for("admin")
    for label, expected in (
        ("applied", "The agent sees it"),
        ("imported", "no agent sees it"),
    ):
        mid = _agent_message(editor_app, seeded[label])
        url = f"/transcripts/{seeded[label]}/messages/{mid}/notes"
        page = admin.client.post(
            url, data={"csrf_token": admin.token, "body": "Note."}, follow_redirects=True
        ).get_data(as_text=True)
        assert expected in page, label
        assert ("The agent sees it" in page) == (label == "applied")
