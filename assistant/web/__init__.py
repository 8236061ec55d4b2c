"""Web pages: the demo agent desktop (/demo), the shared nudge UI (/ui/...), health check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)

web = Blueprint("web", __name__, template_folder="templates", static_folder="static")

SCENARIOS_FILE = Path(__file__).parent / "demo_scenarios.yml"


def load_scenarios() -> list[dict[str, Any]]:
    with SCENARIOS_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["scenarios"]


def websocket_url() -> str:
    scheme = "wss" if request.scheme == "https" else "ws"
    return f"{scheme}://{request.host}/ws"


@web.get("/")
def index() -> Response:
    if current_app.config["EMPATHY_DEMO"]:
        return redirect(url_for("web.demo"))
    return Response(
        "Empathy Engine server. Agents connect with the browser extension.\n", mimetype="text/plain"
    )


@web.get("/healthz")
def healthz() -> dict[str, Any]:
    lexicons = current_app.extensions["empathy"].lexicons
    return {"ok": True, "lexicon_version": lexicons.version}


@web.get("/demo")
def demo() -> Response:
    runtime = current_app.extensions["empathy"]
    if not current_app.config["EMPATHY_DEMO"] or runtime.demo_token is None:
        abort(404, "The demo is disabled on this server (EMPATHY_DEMO=0).")
    ws_url = websocket_url()
    html = render_template(
        "demo.html", ws_url=ws_url, token=runtime.current_demo_token(), scenarios=load_scenarios()
    )
    response = Response(html, mimetype="text/html")
    # No inline scripts: the page gets its data from a JSON block / data attributes.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' {ws_url}; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"  # the page carries a token
    return response


@web.get("/ui/<path:filename>")
def shared_ui(filename: str) -> Response:
    """The extension's nudge UI files, so the demo draws nudges exactly like the extension."""
    return send_from_directory(current_app.config["EMPATHY_UI_DIR"], filename, max_age=0)


# Pages no blueprint gives a policy (errors for unknown URLs, the demo switched off, files):
# strict defaults. setdefault, so the editor's and the demo's own policies win.
FALLBACK_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'"


@web.after_app_request
def _default_security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html" and request.blueprint in (None, web.name):
        response.headers.setdefault("Content-Security-Policy", FALLBACK_CSP)
    return response
