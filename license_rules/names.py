"""Name opt-outs in captions: people who ask that their names stay out of AI training captions.

File format (``--name-optout-list FILE``): one person per line, the name and optional aliases
separated by ``|`` (``Jane Doe | J. Doe | Джейн Доу``); ``#`` starts a comment; an optional
``# version: ...`` line names the list's version for the manifest.

Matching (vectorised over a batch of captions):

* both names and captions are *folded*: Unicode NFKC, then lower case, then ``ß`` -> ``ss`` and
  final ``ς`` -> ``σ`` (the case folds that lower-casing misses): :func:`fold_text` here for the
  names, the same steps as Arrow kernels over a caption column in ``transforms/names.py``;
* every alias is a pattern of one Aho-Corasick automaton (pyahocorasick); the captions of a batch
  are joined with a separator that no fold produces and scanned once, in C;
* a hit counts only on word boundaries: the characters before and after it are not letters,
  digits or ``_`` (``Ann Lee`` does not match ``Joann Leeds``).

Pure: no network, no files written (Arrow, which loads socket, stays in ``transforms/names.py``).
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
import numpy as np

__all__ = ["SEPARATOR", "NameListError", "NameOptOut", "fold_text", "parse_name_list"]

#: Joins the folded captions of a batch; no fold produces it, and names may not hold it.
SEPARATOR = "\x00"
_SEPARATOR = SEPARATOR


class NameListError(ValueError):
    """A name list that cannot be used; the message names the file and line."""


def fold_text(text: str) -> str:
    """NFKC case folding of one string (the steps ``transforms.names.fold`` applies to a column)."""
    return unicodedata.normalize("NFKC", text).lower().replace("ß", "ss").replace("ς", "σ")


@dataclass
class NameOptOut:
    name: str  # the file, for evidence
    sha256: str
    version: str
    people: list[tuple[str, ...]] = field(default_factory=list)  # (name, aliases...) as written
    _automaton: Any = None  # ahocorasick.Automaton (untyped), built lazily

    @property
    def entries(self) -> int:
        return len(self.people)

    def _build(self) -> None:
        automaton = ahocorasick.Automaton()
        for i, alias in ((i, alias) for i, person in enumerate(self.people) for alias in person):
            key = fold_text(alias).strip()
            if key and key not in automaton:
                automaton.add_word(key, (i, alias, len(key)))
        automaton.make_automaton()
        self._automaton = automaton

    def __getstate__(self) -> dict[str, Any]:  # the automaton is rebuilt where it is used (workers)
        state = dict(self.__dict__)
        state["_automaton"] = None
        return state

    def match_joined(self, text: str, starts: np.ndarray) -> np.ndarray:
        """For folded captions joined with :data:`SEPARATOR` (caption k starts at ``starts[k]``, in
        code points), the index in :attr:`people` of the first person each caption names, or -1.
        One pass of the automaton over the whole text; Python runs only per hit."""
        if self._automaton is None:
            self._build()
        hits = np.full(len(starts), -1, dtype=np.int64)
        if not len(starts) or len(self._automaton) == 0:
            return hits
        for end, (person, _alias, size) in self._automaton.iter(text):
            begin = end - size + 1
            if begin > 0 and _word_char(text[begin - 1]):
                continue
            if end + 1 < len(text) and _word_char(text[end + 1]):
                continue
            row = int(np.searchsorted(starts, begin, side="right") - 1)
            if hits[row] < 0:
                hits[row] = person
        return hits

    def evidence(self, person: int) -> str:
        names = self.people[person]
        alias = f" (aliases: {', '.join(names[1:])})" if len(names) > 1 else ""
        return f"caption names {names[0]!r}{alias}, on {self.name} ({self.version})"


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def parse_name_list(text: str, name: str = "<name list>") -> NameOptOut:
    """Parse a name opt-out list; a bad line is a :class:`NameListError` naming the file and line."""
    version = "unversioned"
    people: list[tuple[str, ...]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.lower().startswith("# version:"):
            version = stripped.split(":", 1)[1].strip() or version
            continue
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        spellings = tuple(s.strip() for s in entry.split("|"))
        if any(not s for s in spellings):
            raise NameListError(f"{name}:{lineno}: empty name or alias in {entry!r}")
        if any(_SEPARATOR in s for s in spellings):
            raise NameListError(f"{name}:{lineno}: a name holds a NUL character")
        people.append(spellings)
    return NameOptOut(name=name, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), version=version,
                      people=people)
