"""The dashboard: charts of nudges, what agents did with them, customer waiting times and a
rule's before/after. Per team at /dashboard (leads: their team; trainers and admins pick one),
per agent only at /me/dashboard (the signed-in agent's own numbers). No ranking of agents."""

from __future__ import annotations

from flask import Blueprint, Response

from assistant.editor.setup import CSP

dashboard = Blueprint("dashboard", __name__)


@dashboard.after_request
def _security_headers(response: Response) -> Response:
    # The same headers as the editor's pages (signed-in pages: never cached).
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers["Cache-Control"] = "no-store"
    return response


from . import views  # noqa: E402, F401  (routes register on the blueprint)

__all__ = ["dashboard"]
