"""Conversation ids as stored: one function for the live server, the importer and the export
(`export --conversation` finds a hashed id only if all three hash it the same way)."""

from __future__ import annotations

import hashlib

from .redact import redact


def safe_external_id(external_id: str) -> str:
    """The id a conversation is stored under: an id holding personal data (an e-mail as a
    ticket id) or a NUL (PostgreSQL refuses it) is stored as a hash of itself, never as it is."""
    if redact(external_id) != external_id or "\x00" in external_id:
        return "h:" + hashlib.sha256(external_id.encode()).hexdigest()[:32]
    return external_id
