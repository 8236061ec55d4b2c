"""The plain-phrase syntax: words, (a|b) alternatives, [optional] words, word= exact forms,
and a backslash before ( ) [ ] | = \\ for the character itself.

A phrase compiles to a list of word sequences; each word is a `Word` that knows whether
its other word forms may match. Groups do not nest, which keeps the syntax readable and
the expansion bounded.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from typing import NamedTuple

MAX_SEQUENCES = 2000

_GROUP = re.compile(r"\(([^()\[\]]*)\)|\[([^()\[\]]*)\]|([^\s()\[\]]+)")


class PhraseSyntaxError(ValueError):
    pass


# Regular-expression habits that would otherwise be read as literal words.
_REGEX_HABITS = re.compile(r"[)\]][?*+{]|\\[a-zA-Z]|\.\*")


class Word(NamedTuple):  # a tuple: hashed millions of times while a lexicon compiles
    text: str
    exact: bool = False


# "\(" etc. stand for the character itself (emoticons like ":\(" in a phrase): they are
# swapped for private-use characters while the phrase is parsed, and back in each word.
_ESCAPES = {f"\\{c}": chr(0xE000 + i) for i, c in enumerate("()[]|=\\")}
_UNESCAPE = str.maketrans({v: k[1] for k, v in _ESCAPES.items()})


def _hide_escapes(phrase: str) -> str:
    for escaped, placeholder in _ESCAPES.items():
        phrase = phrase.replace(escaped, placeholder)
    return phrase


def _words(chunk: str) -> tuple[Word, ...]:
    words = []
    for raw in chunk.split():
        exact = raw.endswith("=") and len(raw) > 1
        text = (raw[:-1] if exact else raw).translate(_UNESCAPE)
        words.append(Word(text, exact))
    return tuple(words)


def _check_brackets(phrase: str) -> None:
    depth = 0
    for char in phrase:
        if char in "([":
            depth += 1
            if depth > 1:
                raise PhraseSyntaxError(f"groups cannot nest in {phrase!r}")
        elif char in ")]":
            depth -= 1
            if depth < 0:
                raise PhraseSyntaxError(f"unopened bracket in {phrase!r}")
    if depth:
        raise PhraseSyntaxError(f"unclosed bracket in {phrase!r}")


def _slots(phrase: str) -> list[list[tuple[Word, ...]]]:
    """Each slot is the list of choices at that position (an empty tuple = skip)."""
    slots: list[list[tuple[Word, ...]]] = []
    for match in _GROUP.finditer(phrase):
        alternatives, optional, plain = match.groups()
        if plain is not None:
            slots.append([_words(plain)])
            continue
        body = alternatives if alternatives is not None else optional
        choices = [_words(part) for part in body.split("|")]
        if any(not choice for choice in choices) and alternatives is not None:
            raise PhraseSyntaxError(f"empty alternative in ({body}) in {phrase!r}")
        if optional is not None:
            choices.append(())
        slots.append(choices)
    return slots


@lru_cache(maxsize=65536)
def parse_phrase(phrase: str) -> tuple[tuple[Word, ...], ...]:
    """Expand a phrase into every word sequence it stands for."""
    if not isinstance(phrase, str) or not phrase.strip():
        raise PhraseSyntaxError("a phrase must be a non-empty string")
    phrase = _hide_escapes(phrase)
    habit = _REGEX_HABITS.search(phrase)
    if habit:
        raise PhraseSyntaxError(
            f"{habit.group().strip()!r} in {phrase!r} looks like a regular expression; plain "
            "phrases use (a|b) for alternatives and [word] for optional words"
        )
    _check_brackets(phrase)
    slots = _slots(phrase)
    total = 1
    for choices in slots:
        total *= len(choices)
        if total > MAX_SEQUENCES:
            raise PhraseSyntaxError(f"{phrase!r} expands to more than {MAX_SEQUENCES} phrases")
    sequences = []
    for combo in itertools.product(*slots):
        words = tuple(word for part in combo for word in part)
        if not words:
            raise PhraseSyntaxError(f"{phrase!r} can match nothing (every word is optional)")
        sequences.append(words)
    return tuple(sequences)
