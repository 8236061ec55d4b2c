"""docs/protocol.md shows exactly the schemas the server validates with."""

from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.live.frames import CLIENT_SCHEMAS, ERROR_CODES, SERVER_SCHEMAS

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def documented_schemas(section: str) -> dict[str, dict]:
    text = DOC.read_text(encoding="utf-8")
    part = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"### `(\w+)`.*?```json\n(.*?)\n```", part, flags=re.S)
    return {name: json.loads(schema) for name, schema in found}


def test_client_frames_match_the_code():
    assert documented_schemas("Client to server") == CLIENT_SCHEMAS


def test_server_frames_match_the_code():
    assert documented_schemas("Server to client") == SERVER_SCHEMAS


def test_every_error_code_is_documented():
    text = DOC.read_text(encoding="utf-8")
    assert all(f"| `{code}` |" in text for code in ERROR_CODES)
