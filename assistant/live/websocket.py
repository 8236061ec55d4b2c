"""The agent websocket: simple-websocket's server, with what the live loop needs from it.

* No permessage-deflate. Drafts are a few hundred bytes: compressing them saved little, while
  zlib state cost ~180 KiB per connection and pure-Python deflate framing was the largest
  single CPU cost under load (docs/benchmarks.md, "Load").
* Every frame is stamped with the moment it arrived, so the rate limit counts frames when they
  came in, not when a busy loop got round to them (a stall must not turn a backlog into a burst).
* `wake()` ends a `receive_frame()` wait early without a frame: another thread (the storage
  writer, the lexicon poll) has something for the loop to send.

Works the same on OS threads (dev server, gthread) and under gevent (production), where the
library's reader thread is a greenlet.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections import deque
from typing import Any

from simple_websocket import ConnectionClosed, Server
from wsproto.events import AcceptConnection, Request

Arrival = tuple[float, str | bytes]  # (time.monotonic() on arrival, the message)


class _StampedBuffer(deque):
    """The library appends each complete message here (from its reader thread)."""

    def append(self, message: Any) -> None:
        super().append((time.monotonic(), message))


class AgentSocket(Server):
    def __init__(self, environ: dict[str, Any], **options: Any) -> None:
        self._woken = False
        super().__init__(environ, **options)

    def handshake(self) -> None:
        """Accept the upgrade the way the library does, minus permessage-deflate. (Runs in the
        library's constructor, before its reader thread starts.)"""
        self.input_buffer = _StampedBuffer()
        # Frames are small and each is awaited by someone: never hold one back for Nagle's
        # algorithm (a nudge sent right after an ack would wait for the client's delayed ACK).
        with contextlib.suppress(OSError, AttributeError):
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = b"GET / HTTP/1.1\r\n"
        for key, value in self.environ.items():
            if key.startswith("HTTP_"):
                header = "-".join(part.capitalize() for part in key[5:].split("_"))
                request += f"{header}: {value}\r\n".encode()
        self.ws.receive_data(request + b"\r\n")
        answer = b""
        for event in self.ws.events():
            if isinstance(event, Request):
                self.subprotocol = self.choose_subprotocol(event)
                answer += self.ws.send(AcceptConnection(subprotocol=self.subprotocol))
                self.connected = True
        if answer:
            self.sock.send(answer)

    def receive_frame(self, timeout: float | None = None) -> Arrival | None:
        """The next message with its arrival time; None after `timeout` seconds or a wake().

        Raises ConnectionClosed once the connection is gone and every message was read.
        """
        while self.connected and not self.input_buffer and not self._woken:
            if not self.event.wait(timeout=timeout):
                return None
            self.event.clear()
        self._woken = False
        if self.input_buffer:
            return self.input_buffer.popleft()
        if not self.connected:
            raise ConnectionClosed(self.close_reason, self.close_message)
        return None  # woken

    def receive(self, timeout: float | None = None) -> str | bytes | None:
        """The library's receive(), without the arrival time (a wake counts as a timeout)."""
        arrival = self.receive_frame(timeout)
        return None if arrival is None else arrival[1]

    def wake(self) -> None:
        """Make the pending (or next) receive_frame() return at once. Any thread; never blocks."""
        self._woken = True  # then set the event: the loop re-checks the flag after clearing it
        self.event.set()
