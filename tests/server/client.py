"""A small real websocket client for the server tests."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from typing import Any

import fastjsonschema
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from assistant.live.frames import SERVER_SCHEMAS

SERVER_VALIDATORS = {name: fastjsonschema.compile(s) for name, s in SERVER_SCHEMAS.items()}


class Agent:
    """One agent connection: send frames, receive them (with a timeout), skip what's not needed."""

    def __init__(self, ws_url: str, origin: str | None = None, **options: Any) -> None:
        self.ws = connect(
            ws_url, origin=origin, open_timeout=10, close_timeout=2, **options
        ).__enter__()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ws.close()

    def send(self, frame: dict[str, Any] | str) -> None:
        self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    def send_together(self, frames: list[dict[str, Any]]) -> None:
        """Several frames written to the socket at once (so the server finds them queued)."""
        with self.ws.send_context():
            for frame in frames:
                self.ws.protocol.send_text(json.dumps(frame).encode())

    def server_close_code(self, timeout: float = 10) -> int | None:
        """Wait for the server's close frame; the close code it sent."""
        deadline = time.monotonic() + timeout
        while self.ws.protocol.close_rcvd is None:
            if time.monotonic() > deadline:
                raise AssertionError("the server did not close the connection")
            with contextlib.suppress(TimeoutError, ConnectionClosed):
                self.ws.recv(timeout=0.1)  # frames still queued are skipped
        return self.ws.protocol.close_rcvd.code

    def recv(self, timeout: float = 10) -> dict[str, Any]:
        """The next frame, checked against its documented schema (docs/protocol.md)."""
        frame = json.loads(self.ws.recv(timeout=timeout))
        SERVER_VALIDATORS[frame["type"]](frame)
        return frame

    def expect(self, frame_type: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The next frame of this type matching the given fields; others in between are skipped."""
        while True:
            frame = self.recv(timeout)
            if frame["type"] == frame_type and all(frame.get(k) == v for k, v in match.items()):
                return frame

    def hello(self, token: str, conversation: str = "conv-1", **extra: Any) -> dict[str, Any]:
        self.send({"type": "hello", "token": token, "conversation": conversation, **extra})
        return self.expect("ready")

    def draft(self, draft_id: str, text: str) -> dict[str, Any]:
        self.send({"type": "draft", "id": draft_id, "text": text})
        return self.expect("nudges", **{"for": draft_id})

    def customer(self, message_id: str, text: str, **extra: Any) -> dict[str, Any]:
        self.send({"type": "customer", "id": message_id, "text": text, **extra})
        return self.expect("ack", id=message_id)

    def sent(self, message_id: str, text: str, **extra: Any) -> dict[str, Any]:
        self.send({"type": "sent", "id": message_id, "text": text, **extra})
        return self.expect("ack", id=message_id)


class StalledAgent:
    """A client that says hello, then writes frames and never reads: its tiny receive buffer
    fills, and the server's sends to it block (a frozen tab, a dead network path)."""

    def __init__(self, ws_url: str) -> None:
        from urllib.parse import urlsplit

        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, Request

        parts = urlsplit(ws_url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((parts.hostname, parts.port))
        self.protocol = WSConnection(ConnectionType.CLIENT)
        self.sock.sendall(self.protocol.send(Request(host=parts.netloc, target=parts.path)))
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)  # byte by byte: leave the frames after it unread
        self.protocol.receive_data(response)
        assert isinstance(next(self.protocol.events()), AcceptConnection), response

    def send(self, frame: dict[str, Any]) -> None:
        from wsproto.events import TextMessage

        self.sock.sendall(self.protocol.send(TextMessage(json.dumps(frame))))

    def closed_by_server(self, timeout: float = 10) -> bool:
        """Read everything the server sent; True when it ended with the server closing."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)  # read fast now
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if not self.sock.recv(65536):
                    return True
            except ConnectionResetError:
                return True
            except TimeoutError:
                return False
        return False

    def close(self) -> None:
        self.sock.close()
