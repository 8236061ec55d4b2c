"""One agent's websocket: hello/auth, then frames in, nudges and acks out.

Everything, sending included, runs on the connection's own thread (a greenlet under gunicorn's
gevent workers). The storage writer only posts acks to the connection's outbox (never network I/O on
the writer: a client that stops reading must not stall storage for everyone) and wakes the loop,
which sends them. Sends time out (EMPATHY_SEND_TIMEOUT) and close the connection. Otherwise the loop
sleeps until a frame arrives, the customer-waiting nudge is due, the token is due for a re-check, or
the lexicon poll reports a change (it wakes every open connection): an idle agent costs nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import struct
import sys
import threading
import time
import weakref
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from simple_websocket import ConnectionClosed
from sqlalchemy import Select, select
from wsproto.events import TextMessage
from wsproto.utilities import LocalProtocolError

from assistant.engine import QUESTIONS, Context, Engine, Finding
from assistant.storage.accounts import AgentIdentity, hash_token
from assistant.storage.history import History, load_history
from assistant.storage.ids import safe_external_id
from assistant.storage.models import AgentToken, User
from assistant.storage.redact import redact
from assistant.storage.times import as_utc
from assistant.storage.writer import ConversationKey, StoreFeedback, StoreMessage, StoreNudge

from .frames import FATAL, POLICY_VIOLATION, FrameError, error_frame, parse_frame
from .limits import RateLimiter
from .peer_examples import offer_peer_example
from .websocket import AgentSocket, Arrival

if TYPE_CHECKING:
    from assistant.runtime import Runtime

log = logging.getLogger(__name__)

REMEMBERED_IDS = 1_000  # message ids a connection remembers (to skip resends without work)
REPLAYED_MESSAGES = 200  # the newest stored messages a (re)connect replays into the context


class _OpenConnections:
    """This process's connections past hello, woken when the lexicons change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: set[AgentConnection] = set()

    def add(self, connection: AgentConnection) -> None:
        with self._lock:
            self._members.add(connection)

    def discard(self, connection: AgentConnection) -> None:
        with self._lock:
            self._members.discard(connection)

    def wake_all(self) -> None:
        for connection in self.of(None):
            connection.ws.wake()

    def of(self, runtime: Runtime | None) -> list[AgentConnection]:
        """The open connections of one runtime (app), or of all with None."""
        with self._lock:
            members = list(self._members)
        return [c for c in members if runtime is None or c.runtime is runtime]


OPEN = _OpenConnections()
_SWEEPS: dict[int, tuple[weakref.ref, threading.Thread]] = {}  # id(runtime) -> its token sweep
_SWEEPS_LOCK = threading.Lock()


def ensure_token_sweep(runtime: Runtime) -> None:
    """Start the runtime's token sweep once: every EMPATHY_TOKEN_RECHECK seconds, one query
    re-checks the tokens of all its open connections (one identify per connection and period
    was ~200 database round trips a second at 1,000 agents) and closes the revoked ones."""
    current = _SWEEPS.get(id(runtime))
    if current and current[0]() is runtime:
        return
    with _SWEEPS_LOCK:
        current = _SWEEPS.get(id(runtime))
        if current and current[0]() is runtime:
            return
        ref = weakref.ref(runtime)
        thread = threading.Thread(target=_sweep_tokens, args=(ref,), name="tokens", daemon=True)
        _SWEEPS[id(runtime)] = (ref, thread)
        thread.start()


def _sweep_tokens(ref: weakref.ref) -> None:
    while (runtime := ref()) is not None:
        seconds = runtime.settings["EMPATHY_TOKEN_RECHECK"]
        del runtime  # hold no reference while asleep: a discarded app ends its sweep
        time.sleep(seconds)
        if (runtime := ref()) is None:
            return
        try:
            close_revoked_tokens(runtime)
        except Exception:  # database unavailable: keep serving, check again later
            log.warning("token re-check failed", exc_info=True)
        del runtime


def _valid_hashes(hashes: list[str]) -> Select[tuple[str]]:
    """Of these token hashes, those identify() would still accept (not revoked, with a team)."""
    return (
        select(AgentToken.token_hash)
        .join(User, User.id == AgentToken.user_id)
        .where(
            AgentToken.token_hash.in_(hashes),
            AgentToken.revoked_at.is_(None),
            User.team_id.is_not(None),
        )
    )


def close_revoked_tokens(runtime: Runtime) -> None:
    """Mark and wake the open connections whose token was revoked (their loop closes them)."""
    connections = OPEN.of(runtime)
    if not connections:
        return
    hashes = sorted({c.token_hash for c in connections})
    valid: set[str] = set()
    with runtime.sessions() as session:
        for start in range(0, len(hashes), 500):
            valid.update(session.scalars(_valid_hashes(hashes[start : start + 500])))
    for connection in connections:
        if connection.token_hash not in valid:
            connection.revoked = True
            connection.ws.wake()


@dataclass
class IssuedNudge:
    public_id: str
    rule: str
    text: str


@dataclass
class Waiting:
    """The customer's oldest unanswered message."""

    since: float  # epoch seconds
    for_id: str
    nudged: bool = False


class AgentConnection:
    def __init__(self, ws: AgentSocket, runtime: Runtime, origin_ok: bool) -> None:
        self.ws = ws
        self.runtime = runtime
        self.settings = runtime.settings
        self.origin_ok = origin_ok
        self.limiter = RateLimiter(
            self.settings["EMPATHY_FRAMES_PER_SECOND"], self.settings["EMPATHY_FRAME_BURST"]
        )
        self.max_bytes: int = self.settings["EMPATHY_MAX_FRAME_BYTES"]
        self.outbox: deque[dict[str, Any]] = deque()  # frames posted by other threads
        self.closed = False
        _set_send_timeout(ws, self.settings["EMPATHY_SEND_TIMEOUT"])
        # set by hello
        self.identity: AgentIdentity | None = None
        self.key: ConversationKey | None = None
        self.ctx = Context()
        self.known_ids = RecentIds()  # client ids of messages already in the context
        self.acked_ids = RecentIds()  # client ids this connection acked (resends skip all work)
        self.waiting: Waiting | None = None
        self.composition: dict[tuple[str, str], IssuedNudge] = {}  # nudges since the last send
        self.lexicon_version = 0
        self.token = ""
        self.token_hash = ""
        self.revoked = False  # set by the token sweep

    # --- sending -------------------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> bool:
        """Send a frame (connection thread only); False if the connection is gone.

        A send that cannot finish within EMPATHY_SEND_TIMEOUT (the client stopped reading) closes
        the connection: the client reconnects and resends what was not acked.
        """
        if self.closed:
            return False
        try:
            if not self.ws.connected:
                raise ConnectionClosed()
            # sendall: all of the frame or an error, never half a frame on the wire.
            data = self.ws.ws.send(TextMessage(json.dumps(frame, ensure_ascii=False)))
            _sendall(self.ws.sock, data, self.settings["EMPATHY_SEND_TIMEOUT"])
            return True
        except (ConnectionClosed, OSError, LocalProtocolError) as error:
            # LocalProtocolError: the client's close arrived (on the reader thread) between the
            # check above and the send; the connection is closing, not broken.
            if isinstance(error, (BlockingIOError, TimeoutError)):
                log.warning("client stopped reading; closing its connection")
                _abort(self.ws.sock)
            self.closed = True
            return False

    def post(self, frame: dict[str, Any]) -> None:
        """Queue a frame from another thread (the storage writer); the loop sends it. Never
        blocks and never touches the network."""
        self.outbox.append(frame)
        self.ws.wake()  # after the append: the woken loop finds the frame

    def flush_outbox(self) -> None:
        while self.outbox and not self.closed:
            frame = self.outbox.popleft()
            if frame["type"] == "ack":
                self.acked_ids.remember(frame["id"])
            self.send(frame)

    def error(self, code: str, message: str | None = None, for_id: str | None = None) -> None:
        self.send(error_frame(code, message, for_id))

    def refuse(self, code: str, message: str | None = None) -> None:
        """Fatal error: explain, then close with 1008 (policy violation)."""
        self.error(code, message)
        self.closed = True
        with contextlib.suppress(ConnectionClosed, OSError):
            self.ws.close(reason=POLICY_VIOLATION, message=code)
        # Let the client's closing handshake finish before the HTTP server tears the socket
        # down (otherwise werkzeug can leave the client waiting for the TCP close).
        reader = getattr(self.ws, "thread", None)
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=2)

    @property
    def engine(self) -> Engine:
        return self.runtime.lexicons.engine

    # --- main loop -----------------------------------------------------------------------

    def serve(self) -> None:
        if not self.origin_ok:
            self.refuse("origin-not-allowed")
            return
        try:
            if not self.await_hello():
                return
            while not self.closed:
                arrival = self.ws.receive_frame(timeout=self.next_wakeup())
                if arrival is not None:
                    self.handle_batch([arrival, *self.drain()])
                self.flush_outbox()
                self.tick()
        finally:
            OPEN.discard(self)  # (added by hello)

    def drain(self) -> list[Arrival]:
        """Frames that already arrived behind the current one (so older drafts can be skipped)."""
        frames = []
        limit = self.settings["EMPATHY_FRAME_BURST"]  # more would be rate-limited anyway
        while len(frames) < limit and (arrival := self.ws.receive_frame(timeout=0)) is not None:
            frames.append(arrival)
        return frames

    def next_wakeup(self) -> float | None:
        """Seconds until the loop has something to do unprompted, None for nothing (frames,
        posted acks, lexicon changes and a revoked token wake it)."""
        if self.waiting and not self.waiting.nudged:
            return max(self.waiting.since + self.wait_seconds - time.time(), 0.01)
        return None

    def tick(self) -> None:
        self.announce_lexicon_change()
        self.nudge_if_customer_waiting()
        self.close_if_token_revoked()

    def close_if_token_revoked(self) -> None:
        """A revoked token ends open connections too, within EMPATHY_TOKEN_RECHECK seconds
        (the token sweep checks them all at once and wakes this loop)."""
        if self.revoked:
            self.refuse("bad-token", "the token was revoked")

    # --- hello -----------------------------------------------------------------------------

    def await_hello(self) -> bool:
        raw = self.ws.receive(timeout=self.settings["EMPATHY_HELLO_TIMEOUT"])
        if raw is None:
            self.refuse("hello-timeout")
            return False
        try:
            frame = parse_frame(raw, self.max_bytes)
        except FrameError as error:
            self.refuse(error.code if error.code in FATAL else "hello-required", error.message)
            return False
        if frame["type"] != "hello":
            self.refuse("hello-required", f"the first frame must be a hello, not {frame['type']}")
            return False
        identity = self.runtime.identify(frame["token"])
        if identity is None:
            self.refuse("bad-token")
            return False
        self.token = frame["token"]
        self.token_hash = hash_token(self.token)
        self.start_conversation(identity, frame)
        return True

    def start_conversation(self, identity: AgentIdentity, hello: dict[str, Any]) -> None:
        self.identity = identity
        # Listen for lexicon changes before reading the version: none can slip in between.
        self.runtime.lexicons.listeners.add(OPEN.wake_all)
        OPEN.add(self)
        ensure_token_sweep(self.runtime)
        external_id = hello["conversation"]
        # Never store personal data (or a NUL, which PostgreSQL refuses) as a conversation id.
        external_id = safe_external_id(external_id)
        self.key = ConversationKey(
            identity.team_id, external_id, hello.get("site"), identity.user_id
        )
        self.ctx = Context(
            customer_name=(hello.get("customer_name") or "").strip() or None,
            team=identity.team_name,
        )
        restored = self.restore()
        self.lexicon_version = self.runtime.lexicons.version
        self.send(
            {
                "type": "ready",
                "conversation": hello["conversation"],
                "agent": identity.user_name,
                "team": identity.team_name,
                "wait_seconds": identity.wait_seconds,
                "lexicon_version": self.lexicon_version,
                "restored_messages": restored,
                "questions": {str(number): text for number, text in QUESTIONS.items()},
            }
        )

    def restore(self) -> int:
        """Replay the stored conversation into the context; returns how many messages."""
        try:
            with self.runtime.sessions() as session:
                history = load_history(
                    session, self.key.team_id, self.key.external_id, REPLAYED_MESSAGES
                )
        except Exception:
            log.warning("could not load conversation history", exc_info=True)
            self.error("context-unavailable")
            return 0
        self.replay(history)
        return len(history.messages)

    def replay(self, history: History) -> None:
        for message in history.messages:
            self.known_ids.remember(message.client_id)
            when = as_utc(message.sent_at).timestamp()
            if message.author == "customer":
                self.engine.observe_customer(self.ctx, message.text)
                if self.waiting is None:
                    self.waiting = Waiting(when, message.client_id)
            else:
                self.engine.observe_agent(self.ctx, message.text)
                self.waiting = None
        nudged_at = history.last_waiting_nudge_at
        if self.waiting and nudged_at and as_utc(nudged_at).timestamp() >= self.waiting.since:
            self.waiting.nudged = True

    # --- frames ------------------------------------------------------------------------------

    def handle_batch(self, arrivals: list[Arrival]) -> None:
        frames = []
        for arrived, raw in arrivals:
            if not self.limiter.allow(arrived):  # counted when it came in, not when handled
                self.error("rate-limited")
                continue
            try:
                frames.append(parse_frame(raw, self.max_bytes))
            except FrameError as error:
                self.error(error.code, error.message, error.for_id)
        drafts = [i for i, frame in enumerate(frames) if frame["type"] == "draft"]
        for index, frame in enumerate(frames):
            if frame["type"] == "draft" and index != drafts[-1]:
                self.send({"type": "nudges", "for": frame["id"], "items": [], "superseded": True})
                continue
            self.dispatch(frame)

    def dispatch(self, frame: dict[str, Any]) -> None:
        handler = getattr(self, "on_" + frame["type"])
        try:
            handler(frame)
        except Exception:
            log.exception("frame %s failed", frame["type"])
            self.error("internal", for_id=frame.get("id"))

    def on_hello(self, frame: dict[str, Any]) -> None:
        self.error("already-hello")

    def on_ping(self, frame: dict[str, Any]) -> None:
        self.send({"type": "pong"})

    def on_draft(self, frame: dict[str, Any]) -> None:
        findings = self.engine.review(frame["text"], self.ctx)
        items, new = self.issue(findings, self.composition)
        self.send({"type": "nudges", "for": frame["id"], "items": items})
        for public_id, finding in new:
            self.store_nudge(public_id, "draft", finding)

    def on_customer(self, frame: dict[str, Any]) -> None:
        client_id = frame["id"]
        if self.ack_resend(client_id):
            return
        # What can fail comes before any change to the conversation's state.
        when = _client_time(frame.get("ts"))
        redacted = redact(frame["text"])
        findings: list[Finding] = []
        if client_id not in self.known_ids:
            # The redacted text (as replay sees it), with the team's rules; these feelings
            # are also what is stored.
            findings = self.engine.observe_customer(self.ctx, redacted)
            self.known_ids.remember(client_id)
            if self.waiting is None:  # the server's clock: a client's clock may be off
                self.waiting = Waiting(time.time(), client_id)
        self.store_message(client_id, "customer", redacted, when, findings, {})

    def on_sent(self, frame: dict[str, Any]) -> None:
        client_id = frame["id"]
        if self.ack_resend(client_id):
            return
        when = _client_time(frame.get("ts"))
        redacted = redact(frame["text"])
        findings: list[Finding] = []
        outcomes: dict[str, bool] = {}
        if client_id not in self.known_ids:
            # Analysed like a draft (before the context learns this message), so a transcript
            # shows what was flagged even when no draft preceded it.
            findings = self.engine.review(redacted, self.ctx)
            outcomes = {n.public_id: _survived(n, findings) for n in self.composition.values()}
            self.engine.observe_agent(self.ctx, redacted)
            self.known_ids.remember(client_id)
            self.composition = {}
            self.waiting = None
        self.store_message(client_id, "agent", redacted, when, findings, outcomes)

    def ack_resend(self, client_id: str) -> bool:
        """A resend of a message this connection already acked: ack again, no work."""
        if client_id not in self.acked_ids:
            return False
        self.send({"type": "ack", "id": client_id, "duplicate": True})
        return True

    def on_feedback(self, frame: dict[str, Any]) -> None:
        nudge_id = frame["nudge"]
        record = StoreFeedback(
            self.key,
            nudge_id,
            frame["action"],
            on_unknown=lambda: self.post(
                error_frame("unknown-nudge", f"no nudge {nudge_id} in this conversation", nudge_id)
            ),
        )
        if not self.runtime.writer.submit(record):
            self.error("storage-busy", for_id=nudge_id)

    # --- nudges and storage -----------------------------------------------------------------

    def issue(
        self, findings: list[Finding], seen: dict[tuple[str, str], IssuedNudge]
    ) -> tuple[list[dict[str, Any]], list[tuple[str, Finding]]]:
        """Frame items for findings; the same flag keeps its id while the agent edits."""
        items, new = [], []
        for finding in findings:
            key = (finding.rule, finding.text.strip().lower())
            issued = seen.get(key)
            if issued is None:
                issued = IssuedNudge("n_" + secrets.token_urlsafe(9), finding.rule, finding.text)
                seen[key] = issued
                new.append((issued.public_id, finding))
            item = _item(issued.public_id, finding)  # + a teammate's example, if any
            items.append(offer_peer_example(self.runtime.sessions, self.key.team_id, item))
        return items, new

    def store_nudge(self, public_id: str, trigger: str, finding: Finding) -> None:
        data = finding.to_dict()
        data["text"] = redact(data["text"])
        self.runtime.writer.submit(StoreNudge(self.key, public_id, trigger, data))

    def store_message(
        self,
        client_id: str,
        author: str,
        redacted: str,
        when: datetime,
        findings: list[Finding],
        outcomes: dict[str, bool],
    ) -> None:
        record = StoreMessage(
            self.key,
            client_id,
            author,
            redacted,
            when,
            [f.to_dict() for f in findings],
            outcomes,
            on_stored=lambda duplicate: self.post(
                {"type": "ack", "id": client_id, "duplicate": duplicate}
            ),
            on_refused=lambda: self.post(error_frame("not-stored", for_id=client_id)),
        )
        if not self.runtime.writer.submit(record):
            self.error("storage-busy", for_id=client_id)

    # --- pushed by the server -----------------------------------------------------------------

    @property
    def wait_seconds(self) -> float:
        return self.identity.wait_seconds if self.identity else 60.0

    def nudge_if_customer_waiting(self) -> None:
        waiting = self.waiting
        if waiting is None or waiting.nudged:
            return
        waited = time.time() - waiting.since
        if waited < self.wait_seconds:
            return
        waiting.nudged = True
        finding = self.engine.waiting_nudge(self.ctx, waited)
        if finding is None:  # the lexicons have no customer-waiting rule
            return
        items, new = self.issue([finding], {})
        self.send(
            {
                "type": "waiting",
                "for": waiting.for_id,
                "waited_seconds": round(waited, 1),
                "items": items,
            }
        )
        for public_id, found in new:
            self.store_nudge(public_id, "waiting", found)

    def announce_lexicon_change(self) -> None:
        lexicons = self.runtime.lexicons
        if lexicons.version != self.lexicon_version:
            self.lexicon_version = lexicons.version
            self.send(
                {"type": "lexicon", "version": lexicons.version, "rules": lexicons.rule_count}
            )


class RecentIds:
    """A set of the most recently remembered ids (bounded: a connection may live for days)."""

    def __init__(self, size: int = REMEMBERED_IDS) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, client_id: str) -> bool:
        return client_id in self._ids

    def remember(self, client_id: str) -> None:
        self._ids[client_id] = None
        self._ids.move_to_end(client_id)
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)


def _item(public_id: str, finding: Finding) -> dict[str, Any]:
    return {
        "id": public_id,
        **finding.to_dict(),
        "question_text": QUESTIONS.get(finding.question, ""),
    }


def _survived(nudge: IssuedNudge, findings: list[Finding]) -> bool:
    """Whether what the nudge flagged is still flagged in the message as sent."""
    wanted = nudge.text.strip().lower()
    return any(f.rule == nudge.rule and f.text.strip().lower() == wanted for f in findings)


def _client_time(ts: float | None) -> datetime:
    """The client's timestamp (ms since epoch), never later than now."""
    now = time.time()
    seconds = now if ts is None else min(ts / 1000, now)
    return datetime.fromtimestamp(seconds, UTC)


def _set_send_timeout(ws: Any, seconds: float) -> None:
    """SO_SNDTIMEO bounds sends only; the library's reader thread keeps its blocking receive."""
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    with contextlib.suppress(OSError, AttributeError):
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


def _sendall(sock: socket.socket, data: bytes, seconds: float) -> None:
    """sendall, failing with TimeoutError after `seconds`. A gevent socket waits in the event
    loop and ignores SO_SNDTIMEO, so it gets a gevent timeout instead."""
    if type(sock).__module__.startswith("gevent"):
        gevent = sys.modules["gevent"]
        with gevent.Timeout(seconds, TimeoutError):
            sock.sendall(data)
    else:
        sock.sendall(data)


def _abort(sock: socket.socket) -> None:
    """Reset the connection, dropping what the client never read (linger 0), and wake the
    library's reader thread, which then closes the socket."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
