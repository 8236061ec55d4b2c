"""Settings: defaults, overridden by environment variables, overridden by create_app(config)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str) -> bool:
    return value.strip().lower() not in ("", "0", "false", "no", "off")


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


# name: (default, parser for the environment variable of the same name)
SETTINGS: dict[str, tuple[Any, Any]] = {
    "DATABASE_URL": (None, str),
    "SECRET_KEY": (None, str),
    "EMPATHY_DEMO": (False, _bool),  # `python server.py` turns it on unless EMPATHY_DEMO=0
    "EMPATHY_AUTO_INIT": (True, _bool),  # migrate + seed lexicons when the app starts
    "EMPATHY_ALLOWED_ORIGINS": ([], _list),  # extra browser origins allowed on /ws
    "EMPATHY_EXTENSION_IDS": ([], _list),  # pin chrome-extension:// ids (default: any)
    "EMPATHY_WAIT_SECONDS": (60.0, float),  # customer-waiting threshold for new teams
    "EMPATHY_MAX_FRAME_BYTES": (64 * 1024, int),
    "EMPATHY_FRAMES_PER_SECOND": (20.0, float),
    "EMPATHY_FRAME_BURST": (40.0, float),
    "EMPATHY_HELLO_TIMEOUT": (10.0, float),
    "EMPATHY_TOKEN_RECHECK": (30.0, float),  # seconds between re-checks of an open connection
    "EMPATHY_SEND_TIMEOUT": (10.0, float),  # a client that stops reading longer is closed
    "EMPATHY_WRITE_QUEUE": (10_000, int),  # records waiting for the database, per process
    "EMPATHY_LEXICON_DIR": (str(REPO_ROOT / "lexicons"), str),
    "EMPATHY_LEXICON_POLL": (1.0, float),
    "EMPATHY_UI_DIR": (str(REPO_ROOT / "extension" / "ui"), str),
    # Session cookie only over HTTPS; default: on, unless the demo is on (a local http run).
    "EMPATHY_SECURE_COOKIES": (None, _bool),
    # Days conversations are kept; `flask transcripts purge` without --older-than uses it
    # (None: keep them until purged by hand).
    "EMPATHY_RETENTION_DAYS": (None, float),
}


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    settings = {}
    for name, (default, parse) in SETTINGS.items():
        raw = os.environ.get(name)
        settings[name] = parse(raw) if raw is not None else default
    settings.update(overrides or {})
    # Without SECRET_KEY, assistant.auth uses one stored in the database, shared by every
    # process (sessions must survive landing on another worker or instance).
    # The websocket library's own hard cap closes the socket (1009): keep it well above ours, so
    # an oversized frame normally gets a recoverable error frame instead.
    settings.setdefault(
        "SOCK_SERVER_OPTIONS",
        {
            "ping_interval": 25,
            "max_message_size": max(1024 * 1024, settings["EMPATHY_MAX_FRAME_BYTES"] * 4),
        },
    )
    return settings
