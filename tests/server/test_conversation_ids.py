"""A conversation id holding personal data is stored hashed by the live server exactly as the
importer stores it, so `transcripts export --conversation ID` finds a live conversation by the
id the client gave. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from assistant.live import connection
from assistant.storage import ids
from assistant.transcripts import export, importer

from .client import Agent


def test_one_hashing_function_for_live_import_and_export():
    # Two copies drifted apart silently would make live conversations unexportable by id.
    assert connection.safe_external_id is ids.safe_external_id
    assert importer.safe_external_id is ids.safe_external_id
    assert export.safe_external_id is ids.safe_external_id


@pytest.mark.parametrize("given", ["chat-with-dana.doe@example.com", "ticket\x00nul", "plain-7"])
def test_a_live_conversation_is_exported_by_the_id_the_client_gave(server, token, given):
    with Agent(server.ws_url) as agent:
        agent.hello(token, given)
        agent.customer("m1", "hi there")
    selection = export.Selection(conversations=(given,))
    (found,) = export.conversations(server.runtime.sessions, selection)
    assert found["id"] == ids.safe_external_id(given)
    assert [m["id"] for m in found["messages"]] == ["m1"]
    if given != "plain-7":
        assert found["id"].startswith("h:") and given not in found["id"]
