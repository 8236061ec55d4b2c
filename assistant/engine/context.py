"""Per-conversation memory: what the customer felt, what the agent already said.

Plain data, so a server can cache it as JSON or rebuild it by replaying the stored
messages through Engine.observe_customer / observe_agent after a reconnect.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

PENDING_WINDOW = 5  # feelings from older customer messages no longer prompt a nudge
MIN_REPEAT_WORDS = 4

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


@dataclass
class PendingFeeling:
    rule: str
    category: str
    quote: str
    message_number: int
    worded: bool = True  # said in words, not only "!!!" or "???"


@dataclass
class Context:
    customer_name: str | None = None
    team: str | None = None
    customer_messages: int = 0
    agent_messages: int = 0
    pending: list[PendingFeeling] = field(default_factory=list)
    sent_sentences: list[str] = field(default_factory=list)
    name_used: bool = False
    thing: str | None = None
    situations: list[str] = field(default_factory=list)  # empowerment entries that fit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Context:
        data = dict(data)
        data["pending"] = [PendingFeeling(**p) for p in data.get("pending", [])]
        return cls(**data)

    def forget_old_feelings(self) -> None:
        oldest = self.customer_messages - PENDING_WINDOW
        self.pending = [p for p in self.pending if p.message_number > oldest]

    def acknowledge(self, categories: set[str]) -> None:
        if "any" in categories:
            self.pending.clear()
        else:
            self.pending = [p for p in self.pending if p.category not in categories]

    @property
    def first_name(self) -> str | None:
        words = (self.customer_name or "").split()
        return words[0] if words else None

    def mentions_name(self, text: str) -> bool:
        first = self.first_name
        if not first:
            return False
        return re.search(rf"\b{re.escape(first)}\b", text, re.IGNORECASE) is not None


def sentences(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised text) for each sentence of the text."""
    found = []
    for match in _SENTENCE.finditer(text):
        raw = match.group(0)
        stripped = raw.strip()
        if not stripped:
            continue
        start = match.start() + raw.index(stripped)
        found.append((start, start + len(stripped), normalise_sentence(stripped)))
    return found


def normalise_sentence(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


class Quotes:
    """The customer's own sentence around a span, if short enough to quote whole.
    Splits the text into sentences once, however many spans are quoted."""

    MAX_WORDS = 14

    def __init__(self, text: str) -> None:
        self.text = text
        self._sentences: list[tuple[int, int, str]] | None = None

    def around(self, start: int, end: int) -> str:
        if self._sentences is None:
            self._sentences = sentences(self.text)
        for s_start, s_end, _ in self._sentences:
            if s_start <= start and end <= s_end:
                sentence = self.text[s_start:s_end].rstrip(".!? ")
                if sentence and len(sentence.split()) <= self.MAX_WORDS:
                    return sentence
        return self.text[start:end]
