"""Plugging the editor into the app: sign-in, the pages, security headers, `flask rules`."""

from __future__ import annotations

from flask import Flask, Response, request

from assistant.auth import auth, init_auth
from assistant.trainers import trainers

from . import admin, editor
from .cli import rules_cli

# No inline scripts or styles anywhere in the editor.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def init_editor(app: Flask) -> None:
    init_auth(app)
    app.register_blueprint(editor)
    app.register_blueprint(admin)
    app.register_blueprint(trainers)  # flagged transcripts, replay, notes, "my coaching"
    app.after_request(_security_headers)
    app.cli.add_command(rules_cli)


def _security_headers(response: Response) -> Response:
    if request.blueprint not in (auth.name, editor.name, admin.name, trainers.name):
        return response
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers["Cache-Control"] = "no-store"  # pages of signed-in people
    return response
