"""A websocket client that behaves like the extension's service worker when things go wrong:
customer and sent messages stay in an outbox until acked, every reconnect says hello and resends
the outbox, `storage-busy` and `rate-limited` resend what is unacked after a pause, and drafts
are re-sent after a reconnect for fresh nudges. It keeps the figures the fault tests write down.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

RETRYABLE = (ConnectionClosed, OSError, InvalidHandshake, InvalidStatus, TimeoutError, EOFError)


@dataclass
class Figures:
    messages_sent: int = 0  # distinct customer/sent messages
    frames_sent: int = 0  # including resends
    acked: set[str] = field(default_factory=set)
    duplicate_acks: int = 0
    reconnects: int = 0
    errors: Counter = field(default_factory=Counter)
    nudges: int = 0


class ReliableAgent:
    def __init__(self, ws_url: str, token: str, conversation: str) -> None:
        self.ws_url, self.token, self.conversation = ws_url, token, conversation
        self.outbox: dict[str, dict[str, Any]] = {}  # client id -> frame, until acked
        self.figures = Figures()
        self.ws: Any = None
        self.resend_at: float | None = None

    # --- connection ---------------------------------------------------------------------

    def connect(self, deadline: float = 90) -> float:
        """Open a connection (retrying with a short backoff until `deadline` seconds pass),
        say hello, resend the outbox; returns the seconds it took."""
        started = time.monotonic()
        pause = 0.1
        while True:
            try:
                self.ws = connect(self.ws_url, open_timeout=5, close_timeout=1).__enter__()
                self.ws.send(
                    json.dumps(
                        {"type": "hello", "token": self.token, "conversation": self.conversation}
                    )
                )
                while True:
                    frame = json.loads(self.ws.recv(timeout=10))
                    if frame["type"] == "ready":
                        break
                    self.handle(frame)
                break
            except RETRYABLE:
                if time.monotonic() - started > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
        self.resend_outbox()
        return time.monotonic() - started

    def reconnect(self) -> float:
        self.figures.reconnects += 1
        if self.ws is not None:
            with contextlib.suppress(RETRYABLE):
                self.ws.close()
        return self.connect()

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()

    def _send(self, frame: dict[str, Any]) -> None:
        """Send, reconnecting (which resends the outbox) if the connection is gone."""
        try:
            self.ws.send(json.dumps(frame))
        except RETRYABLE:
            self.reconnect()
            if frame["type"] == "draft":
                self.ws.send(json.dumps(frame))

    def resend_outbox(self) -> None:
        for frame in list(self.outbox.values()):
            self.figures.frames_sent += 1
            self.ws.send(json.dumps(frame))

    # --- frames ---------------------------------------------------------------------------

    def message(self, kind: str, client_id: str, text: str) -> None:
        """A customer message or a sent reply: into the outbox, then onto the wire."""
        frame = {"type": kind, "id": client_id, "text": text}
        self.outbox[client_id] = frame
        self.figures.messages_sent += 1
        self.figures.frames_sent += 1
        self._send(frame)

    def draft(self, draft_id: str, text: str, timeout: float = 60) -> dict[str, Any]:
        """Send a draft and wait for its nudges, reconnecting (and re-sending it) as needed."""
        deadline = time.monotonic() + timeout
        self._send({"type": "draft", "id": draft_id, "text": text})
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no nudges for {draft_id}")
            try:
                frame = json.loads(self.ws.recv(timeout=min(left, 5)))
            except TimeoutError:
                self.maybe_resend()
                continue
            except RETRYABLE:
                self.reconnect()
                self.ws.send(json.dumps({"type": "draft", "id": draft_id, "text": text}))
                continue
            self.handle(frame)
            if frame["type"] == "nudges" and frame["for"] == draft_id:
                return frame

    def pump(self, seconds: float) -> None:
        """Read (and answer to) whatever arrives for a while."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.handle(json.loads(self.ws.recv(timeout=min(left, 0.5))))
            except TimeoutError:
                pass
            except RETRYABLE:
                self.reconnect()
            self.maybe_resend()

    def drain(self, timeout: float = 90) -> None:
        """Until every message in the outbox is acked."""
        deadline = time.monotonic() + timeout
        while self.outbox:
            if time.monotonic() > deadline:
                raise TimeoutError(f"never acked: {sorted(self.outbox)}")
            if self.resend_at is None:
                self.resend_at = time.monotonic() + 2  # a lost frame is resent, as on reconnect
            self.pump(0.5)

    def handle(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "ack":
            if frame["id"] in self.figures.acked:
                self.figures.duplicate_acks += 1
            self.figures.acked.add(frame["id"])
            self.outbox.pop(frame["id"], None)
        elif kind == "nudges":
            self.figures.nudges += 1
        elif kind == "error":
            self.figures.errors[frame["code"]] += 1
            if frame["code"] in ("storage-busy", "rate-limited"):
                self.resend_at = self.resend_at or time.monotonic() + 1.0

    def maybe_resend(self) -> None:
        if self.resend_at is not None and time.monotonic() >= self.resend_at:
            self.resend_at = None
            try:
                self.resend_outbox()
            except RETRYABLE:
                self.reconnect()
