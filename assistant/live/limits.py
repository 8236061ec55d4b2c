"""Per-connection frame rate limit and the websocket origin allow-list."""

from __future__ import annotations

import time
from urllib.parse import urlsplit


class RateLimiter:
    """Token bucket: `rate` frames per second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: float, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.updated = clock()

    def allow(self, at: float | None = None) -> bool:
        """Whether a frame that arrived at `at` (the clock's time; default now) is within the
        limit. Frames are judged by when they arrived, so frames that queued up while the
        server was busy are not mistaken for a burst; given in order, times never go back."""
        now = self.clock() if at is None else max(at, self.updated)
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def origin_allowed(
    origin: str | None,
    *,
    server_origin: str,
    allowed_origins: frozenset[str],
    extension_ids: frozenset[str],
) -> bool:
    """Decide whether a browser page from `origin` may use the websocket.

    No Origin header means no browser page (a script or another service): the token decides.
    Unpacked extensions get an id from their folder, so any chrome-extension:// origin is
    accepted unless the operator pinned extension ids.
    """
    if not origin:
        return True
    origin = origin.rstrip("/").lower()
    if origin == server_origin.lower() or origin in allowed_origins:
        return True
    parts = urlsplit(origin)
    if parts.scheme == "chrome-extension":
        return not extension_ids or parts.netloc in extension_ids
    return False
