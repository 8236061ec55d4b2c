"""Simulated agents: one websocket each, typing realistic replies, timing every answer.

An agent plays SGD dialogues (../shared/data/sgd/turns.tsv): the USER turn arrives as a
`customer` message, the SYSTEM turn is typed as a growing draft sent every `interval` seconds
and finally `sent`. A quarter of the replies open with a phrase the labelled dev set says to
avoid (../shared/dev/phrases-dev.tsv), so nudges fire and get stored as they would on a real
floor. Every draft is timed until its `nudges` frame, every customer/sent message until its `ack`.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

SHARED = Path(__file__).resolve().parents[3] / "shared"
TURNS = SHARED / "data" / "sgd" / "turns.tsv"
DEV_PHRASES = SHARED / "dev" / "phrases-dev.tsv"
NAMES = ["Sam Ortiz", "Priya Shah", "Jonas Berg", "Amara Okafor", "Li Wei", "Maria Rossi", None]
COLD_OPENER_SHARE = 0.25
WORDS_PER_DRAFT = 6  # an agent types about six words between two drafts (2 s)


@dataclass
class Corpus:
    dialogues: list[list[tuple[str, str]]]  # (customer text, agent reply) pairs
    cold_openers: list[str]


def load_corpus(limit: int = 5000) -> Corpus:
    """Customer/agent turn pairs from SGD and the dev set's phrases to avoid."""
    if not TURNS.exists():
        raise SystemExit(f"{TURNS} not found: the harness reads ../shared beside the repository")
    dialogues: dict[str, list[tuple[str, str]]] = {}
    pending: dict[str, str] = {}
    with TURNS.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            key, text = row["dialogue_id"], row["utterance"]
            if row["speaker"] == "USER":
                pending[key] = text
            elif key in pending:
                dialogues.setdefault(key, []).append((pending.pop(key), text))
            if len(dialogues) > limit:
                break
    with DEV_PHRASES.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        openers = [r["text"].strip() for r in rows if r["label"] == "avoid"]
    return Corpus([pairs for pairs in dialogues.values() if pairs], openers)


@dataclass
class Stats:
    """Shared by every agent of a run; the runner reads and resets it per measuring window."""

    draft_latencies: list[float] = field(default_factory=list)  # seconds
    ack_latencies: list[float] = field(default_factory=list)
    drafts_sent: int = 0
    drafts_answered: int = 0
    drafts_superseded: int = 0
    messages_sent: int = 0  # customer + sent frames
    messages_acked: int = 0
    nudges_received: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    connected: int = 0
    connect_failures: int = 0
    disconnects: int = 0

    def take_window(self) -> tuple[list[float], list[float]]:
        """The latencies gathered since the last call (counters keep running)."""
        drafts, acks = self.draft_latencies, self.ack_latencies
        self.draft_latencies, self.ack_latencies = [], []
        return drafts, acks


class Agent:
    def __init__(
        self,
        number: int,
        url: str,
        token: str,
        corpus: Corpus,
        stats: Stats,
        interval: float,
        compression: bool = True,
    ) -> None:
        self.number = number
        self.compression = compression
        self.url = url
        self.token = token
        self.corpus = corpus
        self.stats = stats
        self.interval = interval
        self.random = random.Random(number)
        self.pending_drafts: dict[str, float] = {}  # id -> monotonic send time
        self.pending_messages: dict[str, float] = {}
        self.ws: ClientConnection | None = None
        self.sequence = 0
        self.stopping = False

    def next_id(self, prefix: str) -> str:
        self.sequence += 1
        return f"{prefix}{self.number}-{self.sequence}"

    async def run(self, ready: asyncio.Event | None = None) -> None:
        """Connect, say hello, then type until stopped."""
        try:
            self.ws = await connect(
                self.url,
                open_timeout=60,
                max_size=2**20,
                # Browsers offer permessage-deflate, and the server accepts it.
                compression="deflate" if self.compression else None,
            )
            await self.ws.send(json.dumps(self.hello()))
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), 60))
            if reply.get("type") != "ready":
                raise RuntimeError(f"agent {self.number}: no ready: {reply}")
        except (OSError, TimeoutError, ConnectionClosed, RuntimeError) as error:
            self.stats.connect_failures += 1
            self.stats.errors[type(error).__name__] = (
                self.stats.errors.get(type(error).__name__, 0) + 1
            )
            if ready:
                ready.set()
            return
        self.stats.connected += 1
        if ready:
            ready.set()
        reader = asyncio.create_task(self.read())
        try:
            await self.type_replies()
        except ConnectionClosed:
            pass
        finally:
            self.stats.connected -= 1
            await self.ws.close()
            await reader

    def hello(self) -> dict:
        return {
            "type": "hello",
            "token": self.token,
            "conversation": f"load-{self.number}-{self.random.getrandbits(32):08x}",
            "customer_name": self.random.choice(NAMES),
            "site": "load-test",
        }

    async def type_replies(self) -> None:
        # Agents start out of phase so drafts arrive evenly, not in a burst every interval.
        await asyncio.sleep(self.random.uniform(0, self.interval))
        while not self.stopping:
            dialogue = self.random.choice(self.corpus.dialogues)
            for customer, reply in dialogue:
                if self.stopping:
                    return
                await self.send_message("customer", customer)
                if self.random.random() < COLD_OPENER_SHARE:
                    reply = f"{self.random.choice(self.corpus.cold_openers)} {reply}"
                for draft in drafts_of(reply):
                    await self.send_draft(draft)
                    await asyncio.sleep(self.interval)
                    if self.stopping:
                        return
                await self.send_message("sent", reply)

    async def send_draft(self, text: str) -> None:
        frame_id = self.next_id("d")
        self.pending_drafts[frame_id] = time.monotonic()
        self.stats.drafts_sent += 1
        await self.ws.send(json.dumps({"type": "draft", "id": frame_id, "text": text}))

    async def send_message(self, kind: str, text: str) -> None:
        frame_id = self.next_id("c" if kind == "customer" else "s")
        self.pending_messages[frame_id] = time.monotonic()
        self.stats.messages_sent += 1
        frame = {"type": kind, "id": frame_id, "text": text, "ts": time.time() * 1000}
        await self.ws.send(json.dumps(frame))

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                self.on_frame(json.loads(raw), time.monotonic())
        except ConnectionClosed:
            pass
        if not self.stopping:
            self.stats.disconnects += 1

    def on_frame(self, frame: dict, now: float) -> None:
        kind = frame.get("type")
        if kind == "nudges":
            sent = self.pending_drafts.pop(frame.get("for"), None)
            if sent is not None:
                self.stats.drafts_answered += 1
                self.stats.drafts_superseded += bool(frame.get("superseded"))
                self.stats.nudges_received += len(frame.get("items", []))
                self.stats.draft_latencies.append(now - sent)
        elif kind == "ack":
            sent = self.pending_messages.pop(frame.get("id"), None)
            if sent is not None:
                self.stats.messages_acked += 1
                self.stats.ack_latencies.append(now - sent)
        elif kind == "error":
            code = frame.get("code", "?")
            self.stats.errors[code] = self.stats.errors.get(code, 0) + 1

    def lost(self, older_than: float) -> tuple[int, int]:
        """Drafts and messages still unanswered after `older_than` seconds."""
        cutoff = time.monotonic() - older_than
        drafts = sum(1 for sent in self.pending_drafts.values() if sent < cutoff)
        messages = sum(1 for sent in self.pending_messages.values() if sent < cutoff)
        return drafts, messages


def drafts_of(reply: str) -> list[str]:
    """The reply as typed: a draft every WORDS_PER_DRAFT words, the last one whole."""
    words = reply.split()
    cuts = range(WORDS_PER_DRAFT, len(words), WORDS_PER_DRAFT)
    return [" ".join(words[:cut]) for cut in cuts] + [reply]
