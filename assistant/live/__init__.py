"""The live websocket endpoint, /ws (protocol: docs/protocol.md)."""

from __future__ import annotations

import contextlib
import logging

import flask_sock
from flask import Blueprint, current_app, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed

from .connection import AgentConnection
from .limits import origin_allowed
from .websocket import AgentSocket

log = logging.getLogger(__name__)

live = Blueprint("live", __name__)
sock = Sock()

# flask-sock (pinned 0.7.0) builds each connection's socket by this name; ours is
# simple-websocket's server without permessage-deflate, with arrival times and wake()
# (websocket.py says why). tests/server/test_wakeups.py fails if the seam stops holding.
flask_sock.Server = AgentSocket


@sock.route("/ws", bp=live)
def websocket(ws: AgentSocket) -> None:
    serve_agent(ws)


def serve_agent(ws: AgentSocket) -> None:
    runtime = current_app.extensions["empathy"]
    connection = AgentConnection(ws, runtime, origin_ok=_origin_ok())
    try:
        runtime.start()
        connection.serve()
    except ConnectionClosed:
        raise
    except Exception:
        # E.g. the database is down at hello and the token was never seen: say so and close
        # this connection (1011) rather than leave the client guessing; the server goes on.
        log.exception("websocket connection failed")
        connection.error("internal", "the server could not serve this connection; retry")
        with contextlib.suppress(Exception):
            ws.close(reason=1011, message="internal error")


def _origin_ok() -> bool:
    settings = current_app.config
    origin = request.headers.get("Origin")
    # The server's own pages, whether reached over http or behind a TLS proxy.
    own = {f"{scheme}://{request.host}".lower() for scheme in ("http", "https")}
    if origin and origin.rstrip("/").lower() in own:
        return True
    return origin_allowed(
        origin,
        server_origin=request.host_url.rstrip("/"),
        allowed_origins=frozenset(
            o.rstrip("/").lower() for o in settings["EMPATHY_ALLOWED_ORIGINS"]
        ),
        extension_ids=frozenset(settings["EMPATHY_EXTENSION_IDS"]),
    )


__all__ = ["live"]
