"""The live websocket endpoint, /ws (protocol: docs/protocol.md)."""

from __future__ import annotations

import contextlib
import logging

from flask import Blueprint, Response, current_app, request
from simple_websocket import ConnectionClosed

from .connection import AgentConnection
from .limits import origin_allowed
from .websocket import AgentSocket

log = logging.getLogger(__name__)

live = Blueprint("live", __name__)


@live.route("/ws", websocket=True)
def websocket() -> Response:
    """flask-sock's route, with our socket class (no compression, arrival times, wake)."""
    ws = AgentSocket(request.environ, **current_app.config.get("SOCK_SERVER_OPTIONS", {}))
    with contextlib.suppress(ConnectionClosed):
        serve_agent(ws)
    with contextlib.suppress(Exception):
        ws.close()
    return _SocketDone(mode=ws.mode)


class _SocketDone(Response):
    """The websocket already wrote everything: tell the WSGI server not to answer again."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def __call__(self, environ, start_response):
        if self.mode == "gunicorn":  # gunicorn's workers take this to mean "socket handled"
            raise StopIteration()
        if self.mode == "werkzeug":
            return super().__call__(environ, start_response)
        return []


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
