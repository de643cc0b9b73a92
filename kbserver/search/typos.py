"""The index's vocabulary and typo candidates from a deletion dictionary (the SymSpell idea), built with it.

Every indexed word and each form of it with one letter deleted is hashed into a sorted table. A query word
finds its candidates by looking up itself and its own one-letter deletions (two-letter deletions too from
9 letters), so an insertion, a deletion, a substitution or a swap of neighbours all meet in the table
without scanning the vocabulary. Every candidate is then checked with the true edit distance.

The table also holds every folded word with the number of documents that have it: which words the content
knows, how common each is, and the completions of an unfinished word. It lives in the index generation
(`typos.bin`); words that later commits add are appended to `typos-extra.txt` and compared one by one (they
are few until the next full rebuild). Counts are those of the last full build.
"""

from __future__ import annotations

import bisect
import os
import zlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import overload

from kbserver.search.analysis import edit_distance

TABLE = "typos.bin"
EXTRA = "typos-extra.txt"
MIN_LENGTH = 3  # shorter words are never corrected: too many words are one edit from them
TWO_TYPOS_FROM = 9  # Meilisearch's rule: one typo from 5 letters, two from 9 (from 3 when nothing matches)
MAX_WORD = 30


def allowed_typos(word: str) -> int:
    """How many edits a misspelt word may be from what it stands for."""
    if len(word) < MIN_LENGTH:
        return 0
    return 2 if len(word) >= TWO_TYPOS_FROM else 1


def _key(text: str) -> int:
    return zlib.crc32(text.encode())


def _deletions(word: str, depth: int) -> set[str]:
    out = {word[:i] + word[i + 1 :] for i in range(len(word))}
    if depth > 1:
        out |= {
            "".join(c for j, c in enumerate(word) if j not in pair)
            for pair in combinations(range(len(word)), 2)
        }
    return out


def indexable(word: str) -> bool:
    """Words that typos may stand for: letters only, of a sensible length."""
    return MIN_LENGTH <= len(word) <= MAX_WORD and word.isalpha()


def write_table(folder: Path, counts: Mapping[str, int]) -> None:
    """Write the vocabulary (word: documents) and its deletion table into folder, atomically; clear the
    extra words."""
    vocabulary = sorted(counts)
    frequencies = array("I", (counts[w] for w in vocabulary))
    entries = []
    for n, word in enumerate(vocabulary):
        if indexable(word):
            for form in {word} | _deletions(word, 1):
                entries.append((_key(form), n))
    entries.sort()
    keys = array("I", (k for k, _ in entries))
    ids = array("I", (n for _, n in entries))
    blob = "\n".join(vocabulary).encode()
    header = array("I", [len(keys), len(vocabulary), len(blob)])
    tmp = folder / f".{TABLE}.tmp"
    with open(tmp, "wb") as out:
        out.write(header.tobytes() + keys.tobytes() + ids.tobytes() + frequencies.tobytes() + blob)
    os.replace(tmp, folder / TABLE)
    (folder / EXTRA).unlink(missing_ok=True)


def add_words(folder: Path, words: Iterable[str]) -> None:
    """Record words that a catch-up brought into the index and the table does not know."""
    table = load_table(folder)
    new = sorted({w for w in words if not table.known(w)})
    if new:
        with open(folder / EXTRA, "a", encoding="utf-8") as out:
            out.write("".join(f"{w}\n" for w in new))


def load_table(folder: Path) -> TypoTable:
    """The table of an index generation, read once per process while the file stays the same."""
    table = folder / TABLE
    try:
        stamp = table.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _load(folder, stamp)


@lru_cache(maxsize=4)
def _load(folder: Path, _stamp: int) -> TypoTable:
    return TypoTable(folder)


class Vocabulary(Sequence[str]):
    """The sorted vocabulary as one UTF-8 blob and the offset of each word: a list of hundreds of thousands of
    str objects (and a dict to find them) held tens of MB in every search process."""

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        starts = array("I", [0]) if blob else array("I")
        find, at = blob.find, 0
        while (at := find(b"\n", at) + 1) > 0:
            starts.append(at)
        self._starts = starts

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, n: int) -> str: ...
    @overload
    def __getitem__(self, n: slice) -> list[str]: ...
    def __getitem__(self, n: int | slice) -> str | list[str]:
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(len(self)))]
        start = self._starts[n]
        end = self._starts[n + 1] - 1 if n + 1 < len(self._starts) else len(self._blob)
        return self._blob[start:end].decode()

    def index_of(self, word: str) -> int | None:
        """The word's position, or None when it is not in the vocabulary."""
        at = bisect.bisect_left(self, word)
        return at if at < len(self) and self[at] == word else None


class TypoTable:
    """The vocabulary and deletion table of one index generation, and the words added since it was built."""

    def __init__(self, folder: Path) -> None:
        self.keys = array("I")
        self.ids = array("I")
        self.frequencies = array("I")
        self.words = Vocabulary(b"")
        self.extra: list[str] = []
        self._extra_set: set[str] = set()
        self._extra_size = -1
        self.folder = folder
        table = folder / TABLE
        if table.is_file():
            data = table.read_bytes()
            count, words, size = array("I", data[:12])
            at = 12
            for part, length in ((self.keys, count), (self.ids, count), (self.frequencies, words)):
                part.frombytes(data[at : at + 4 * length])
                at += 4 * length
            self.words = Vocabulary(bytes(data[at : at + size]))
        self.refresh()

    def refresh(self) -> None:
        """Re-read the extra words when a catch-up has added some."""
        extra = self.folder / EXTRA
        size = extra.stat().st_size if extra.is_file() else 0
        if size != self._extra_size:
            self.extra = extra.read_text(encoding="utf-8").split() if size else []
            self._extra_set = set(self.extra)
            self._extra_size = size

    def known(self, word: str) -> bool:
        """The word occurs in the content (or did at the last full build)."""
        return word in self._extra_set or self.words.index_of(word) is not None

    def frequency(self, word: str) -> int:
        """In how many documents the word occurs (1 for a word added since the last full build)."""
        n = self.words.index_of(word)
        return int(self.frequencies[n]) if n is not None else int(word in self._extra_set)

    def completions(self, prefix: str, scan: int) -> list[str]:
        """Up to scan words that start with prefix and are longer than it."""
        start = bisect.bisect_left(self.words, prefix)
        found = [w for w in self.words[start : start + scan] if w.startswith(prefix) and w != prefix]
        return found + [w for w in self.extra if w.startswith(prefix) and w != prefix]

    def _lookup(self, form: str) -> list[str]:
        key = _key(form)
        start = bisect.bisect_left(self.keys, key)
        found = []
        while start < len(self.keys) and self.keys[start] == key:
            found.append(self.words[self.ids[start]])
            start += 1
        return found

    def candidates(self, word: str, typos: int) -> list[tuple[int, str]]:
        """(distance, word) for indexed words within typos edits of word (a swap of neighbours is one)."""
        if len(word) > MAX_WORD + typos:  # nothing indexed is that long, and its deletions grow as its square
            return []
        found: set[str] = set()
        for form in {word} | _deletions(word, typos):
            found.update(self._lookup(form))
        found.update(w for w in self.extra if abs(len(w) - len(word)) <= typos)
        out = []
        for candidate in found:
            if candidate != word and abs(len(candidate) - len(word)) <= typos:
                distance = edit_distance(word, candidate)
                if distance <= typos:
                    out.append((distance, candidate))
        return out
