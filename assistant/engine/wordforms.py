"""Word forms from spaCy's lookup tables, applied once per lexicon compile.

Rules match on the NORM attribute. spaCy's tokenizer already gives contractions their
full form as NORM ("'re" -> "are", "ca"/"n't" -> "can"/"not"); here we point the
lexemes of every inflection and spelling of the words the rules use at one canonical
lemma ("Apologised", "apologizing" -> "apologize"). Lexeme attributes live in the
vocabulary, so matching costs nothing per token: the work happens when rules compile.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache

import spacy_lookups_data
import srsly
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.vocab import Vocab

# British -ise/-yse spellings to the -ize/-yze ones the lookup table lists.
_BRITISH = re.compile(r"(?<=[a-z]{2})(is|ys)(e|es|ed|ing|ation|ations|er|ers)$")
_AMERICAN = re.compile(r"(?<=[a-z]{2})(iz|yz)(e|es|ed|ing|ation|ations|er|ers)$")


class WordForms:
    """Maps any form of a word to its canonical lemma, and a lemma to its forms."""

    def __init__(self) -> None:
        # Keep a form -> lemma mapping only where the two share their first letters:
        # "paid" -> "pay" yes; "best" -> "good", "worst" -> "wrong", "second" -> "2" no (a
        # rule about doing our best must not fire on "good").
        self._lemma: dict[str, str] = {
            form: lemma for form, lemma in _read_lemma_lookup().items() if form[:2] == lemma[:2]
        }
        self._forms: dict[str, set[str]] = defaultdict(set)
        for form, lemma in self._lemma.items():
            self._forms[lemma].add(form)
        self._known = set(self._lemma) | set(self._forms)
        self._taught: dict[tuple[int, str], str] = {}  # (vocab, word) -> norm, taught once
        self._vocabs: dict[int, Vocab] = {}  # held so an id is never reused while cached

    def canonical(self, word: str) -> str:
        """The one spelling every form of `word` normalises to (lowercase)."""
        lower = word.lower()
        american = _BRITISH.sub(lambda m: ("iz" if m[1] == "is" else "yz") + m[2], lower)
        if american != lower and american in self._known:
            lower = american
        return self._lemma.get(lower, lower)

    def forms(self, word: str) -> set[str]:
        """Every known inflection and spelling of `word`'s lemma, lowercase."""
        lemma = self.canonical(word)
        forms = {lemma, word.lower(), *self._forms.get(lemma, ())}
        british = {
            _AMERICAN.sub(lambda m: ("is" if m[1] == "iz" else "ys") + m[2], f) for f in forms
        }
        return forms | british

    def is_function_word(self, word: str) -> bool:
        return word.lower() in STOP_WORDS or not any(ch.isalpha() for ch in word)

    def teach(self, vocab: Vocab, word: str) -> str:
        """Point every form of `word` (any common casing) at its canonical NORM; return it."""
        key = (id(vocab), word)
        if key in self._taught:
            return self._taught[key]
        self._vocabs.setdefault(id(vocab), vocab)
        if self.is_function_word(word):
            canonical = word.lower()
        else:
            canonical = self.canonical(word)
            # Function-word relatives ("'s" of "have", "made" of "make") stay as written.
            for form in self.forms(word):
                if self.is_function_word(form):
                    continue
                for cased in (form, form.capitalize(), form.upper()):
                    vocab[cased].norm_ = canonical
        self._taught[key] = canonical
        return canonical

    def forget(self, vocab: Vocab) -> None:
        """Drop what was taught to a vocabulary that is being replaced."""
        self._taught = {k: v for k, v in self._taught.items() if k[0] != id(vocab)}
        self._vocabs.pop(id(vocab), None)


def _read_lemma_lookup() -> dict[str, str]:
    """The table as strings (spaCy's Table keeps only hashed keys)."""
    path = spacy_lookups_data.en["lemma_lookup"]
    gzipped = path.with_name(path.name + ".gz")
    return srsly.read_gzip_json(gzipped) if gzipped.exists() else srsly.read_json(path)


@lru_cache(maxsize=1)
def shared_word_forms() -> WordForms:
    """The lookup table is ~40k entries; load it once per process."""
    return WordForms()
