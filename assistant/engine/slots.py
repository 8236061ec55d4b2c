"""Suggestion slots: a suggestion carries this customer's name and their own words."""

from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS

_SLOT = re.compile(r"\{(, )?(name|thing|quote|waited)(?:\|([^{}]*))?\}")
# "my blue jacket", "my order from last week" -> "blue jacket", "order"
_MY_THING = re.compile(r"\bmy ((?:[a-z][a-z'-]*\s){0,2}[a-z][a-z'-]*)", re.IGNORECASE)


@dataclass(frozen=True)
class SlotValues:
    name: str | None = None
    thing: str | None = None  # already phrased from the agent's side: "your blue jacket"
    quote: str | None = None
    waited: str | None = None  # "2 minutes"


def fill(template: str, values: SlotValues) -> str:
    def replace(match: re.Match) -> str:
        comma, slot, default = match.groups()
        value = getattr(values, slot)
        if slot == "name":
            if comma:
                return f", {value}" if value else ""
            return value or (default if default is not None else "there")
        fallback = {"thing": "this", "quote": "what you said", "waited": "a while"}[slot]
        return value or (default if default is not None else fallback)

    return _SLOT.sub(replace, template)


# Without a tagger, a verb after "my parcel" is guessed from its shape and a few common ones.
_VERBS = {"got", "came", "went", "never", "still", "keeps", "broke", "stopped", "seems", "looks"}


def _ends_the_thing(word: str) -> bool:
    return (
        word in STOP_WORDS
        or word in _VERBS
        or "'" in word
        or (len(word) > 4 and word.endswith(("ed", "ing")))
    )


def thing_mentioned(text: str) -> str | None:
    """What the customer is writing about, in their words, seen from the agent: "your parcel"."""
    found = None
    for match in _MY_THING.finditer(text):
        words = []
        for word in match.group(1).split():
            if _ends_the_thing(word.lower()):
                break
            words.append(word)
        if words:
            found = "your " + " ".join(words)
    return found
