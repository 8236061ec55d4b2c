"""Websocket frames: one JSON Schema per frame type, compiled once, and the error codes.

docs/protocol.md documents these schemas; tests/server/test_protocol_doc.py checks the two agree.
"""

from __future__ import annotations

import json
from typing import Any

import fastjsonschema

ID = {"type": "string", "minLength": 1, "maxLength": 100}
TEXT = {"type": "string", "maxLength": 20_000}
TS = {
    "type": "number",
    "minimum": 0,
    "maximum": 10_000_000_000_000,  # the year 2286: later is a broken clock
    "description": "milliseconds since the Unix epoch",
}


def _frame(type_: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"type": {"const": type_}, **properties},
        "required": ["type", *required],
    }


CLIENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "hello": _frame(
        "hello",
        {
            "token": {"type": "string", "minLength": 1, "maxLength": 200},
            "conversation": {"type": "string", "minLength": 1, "maxLength": 200},
            "customer_name": {"type": ["string", "null"], "maxLength": 100},
            "site": {"type": ["string", "null"], "maxLength": 200},
        },
        ["token", "conversation"],
    ),
    "customer": _frame("customer", {"id": ID, "text": TEXT, "ts": TS}, ["id", "text"]),
    "draft": _frame("draft", {"id": ID, "text": TEXT}, ["id", "text"]),
    "sent": _frame("sent", {"id": ID, "text": TEXT, "ts": TS}, ["id", "text"]),
    "feedback": _frame(
        "feedback",
        {
            "nudge": {"type": "string", "minLength": 1, "maxLength": 40},
            "action": {"enum": ["applied", "dismissed", "unhelpful"]},
        },
        ["nudge", "action"],
    ),
    "ping": _frame("ping", {}, []),
}

NUDGE_ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "rule": {"type": "string"},
        "category": {"type": "string"},
        "question": {"type": "integer", "minimum": 1, "maximum": 5},
        "question_text": {"type": "string"},
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 0},
        "text": {"type": "string"},
        "message": {"type": "string"},
        "suggestions": {"type": "array", "items": {"type": "string"}},
        "severity": {"enum": ["suggestion", "warning"]},
        "empowered": {"type": "array", "items": {"type": "string"}},
        # Only when the agent's team has one for this rule (or, failing that, question).
        "peer_example": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "text": {"type": "string"}},
            "required": ["id", "text"],
        },
    },
    "required": [
        "id",
        "rule",
        "category",
        "question",
        "start",
        "end",
        "message",
        "suggestions",
        "severity",
        "empowered",
    ],
}

SERVER_SCHEMAS: dict[str, dict[str, Any]] = {
    "ready": _frame(
        "ready",
        {
            "conversation": {"type": "string"},
            "agent": {"type": "string"},
            "team": {"type": "string"},
            "wait_seconds": {"type": "number"},
            "lexicon_version": {"type": "integer"},
            "restored_messages": {"type": "integer"},
            "questions": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        ["conversation", "agent", "team", "wait_seconds", "lexicon_version", "questions"],
    ),
    "nudges": _frame(
        "nudges",
        {
            "for": {"type": "string"},
            "items": {"type": "array", "items": NUDGE_ITEM},
            "superseded": {"type": "boolean"},
        },
        ["for", "items"],
    ),
    "waiting": _frame(
        "waiting",
        {
            "for": {"type": "string"},
            "waited_seconds": {"type": "number"},
            "items": {"type": "array", "items": NUDGE_ITEM, "minItems": 1},
        },
        ["for", "waited_seconds", "items"],
    ),
    "ack": _frame("ack", {"id": ID, "duplicate": {"type": "boolean"}}, ["id"]),
    "lexicon": _frame(
        "lexicon", {"version": {"type": "integer"}, "rules": {"type": "integer"}}, ["version"]
    ),
    "pong": _frame("pong", {}, []),
    "error": _frame(
        "error",
        {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "for": {"type": ["string", "null"]},
        },
        ["code", "message"],
    ),
}

# Error codes. Only the FATAL ones close the connection (with close code 1008, policy violation).
ERROR_CODES = {
    "bad-json": "the frame is not a JSON object",
    "binary-frame": "binary frames are not accepted; send JSON text",
    "bad-frame": "the frame does not match its schema (the message says where)",
    "unknown-type": "no such frame type",
    "frame-too-large": "the frame is larger than the per-frame limit",
    "rate-limited": "too many frames per second; the frame was dropped",
    "already-hello": "hello was already accepted on this connection",
    "unknown-nudge": "feedback for a nudge this conversation never got",
    "storage-busy": "the server could not queue the message; resend it",
    "not-stored": "the database refused this message for good; resending will not help",
    "context-unavailable": "the conversation history could not be loaded; nudges go on",
    "internal": "the server failed on this frame; the connection goes on",
    # fatal
    "hello-required": "the first frame must be a hello",
    "hello-timeout": "no hello arrived in time",
    "bad-token": "the token is unknown or revoked",
    "origin-not-allowed": "this page's origin may not open the websocket",
}
FATAL = {"hello-required", "hello-timeout", "bad-token", "origin-not-allowed"}
POLICY_VIOLATION = 1008


class FrameError(Exception):
    def __init__(self, code: str, message: str, for_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.for_id = for_id


_VALIDATORS = {name: fastjsonschema.compile(schema) for name, schema in CLIENT_SCHEMAS.items()}


def parse_frame(raw: str | bytes, max_bytes: int) -> dict[str, Any]:
    """Decode and validate one client frame, or raise FrameError with a clear code."""
    if isinstance(raw, bytes):
        raise FrameError("binary-frame", ERROR_CODES["binary-frame"])
    if len(raw) > max_bytes // 4 and len(raw.encode()) > max_bytes:
        raise FrameError("frame-too-large", f"frames are limited to {max_bytes} bytes")
    try:
        frame = json.loads(raw, parse_constant=_not_a_number)
    except ValueError as error:
        raise FrameError("bad-json", f"invalid JSON: {error}") from None
    except RecursionError:
        raise FrameError("bad-json", "JSON nested too deeply") from None
    if not isinstance(frame, dict):
        raise FrameError("bad-json", "a frame must be a JSON object")
    if "\\u" in raw and not _encodable(frame):  # e.g. a lone surrogate written as \ud800
        raise FrameError("bad-json", "the frame contains text that is not valid Unicode")
    frame_type = frame.get("type")
    validator = _VALIDATORS.get(frame_type) if isinstance(frame_type, str) else None
    if validator is None:
        known = ", ".join(CLIENT_SCHEMAS)
        raise FrameError("unknown-type", f"unknown frame type {frame_type!r} (known: {known})")
    try:
        validator(frame)
    except fastjsonschema.JsonSchemaValueException as error:
        for_id = frame.get("id") if isinstance(frame.get("id"), str) else None
        raise FrameError("bad-frame", f"{frame_type}: {error.message}", for_id) from None
    return frame


def _not_a_number(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _encodable(frame: dict[str, Any]) -> bool:
    try:
        json.dumps(frame, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def error_frame(code: str, message: str | None = None, for_id: str | None = None) -> dict:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message or ERROR_CODES[code]}
    if for_id is not None:
        frame["for"] = for_id
    return frame
