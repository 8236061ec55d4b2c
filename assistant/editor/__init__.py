"""The lexicon editor: pages where leads and admins change the rules, live for every agent
within seconds (each save bumps the lexicon version every server process polls)."""

from __future__ import annotations

from flask import Blueprint

editor = Blueprint("editor", __name__, url_prefix="/lexicon")
admin = Blueprint("admin", __name__, url_prefix="/admin")

from . import admin_views, views  # noqa: E402, F401  (routes register on the blueprints)

__all__ = ["admin", "editor"]
