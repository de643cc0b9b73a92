"""Ticket descriptions as sets of stems, and clusters of similar ones: Jaccard similarity, single linkage.

The words are those the search index would see: lowercased, stop words out, accents folded, stemmed by the
product's own analyzers (kbserver/search/analysis.py) in the description's language. Numbers are left out,
"planta 3" and "planta 4" ask the same question, and so are the negations and particles that the search keeps
("no", "sin", "not", "off"): "no imprime" and "imprime mal" are one gap.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from kbserver.search.analysis import KEEP, LANGS, WORD, language_analyzer, stop_words
from kbserver.search.query import stems

_WORD = re.compile(WORD)


@dataclass(frozen=True)
class Words:
    """A description's language and its stems, each with the first word that gave it (for people to read)."""

    lang: str
    stems: dict[str, str]

    @property
    def key(self) -> frozenset[str]:
        """The set the similarity is computed on."""
        return frozenset(self.stems)


def guess_lang(text: str) -> str:
    """es or en: the language whose stop words the text uses more (Spanish when neither or both)."""
    words = _WORD.findall(text.lower())
    counts = {lang: sum(w in stop_words(lang) for w in words) for lang in LANGS}
    return "en" if counts["en"] > counts["es"] else "es"


def words_of(text: str, lang: str | None = None) -> Words:
    """The stems of text in lang (guessed when None), numbers left out."""
    lang = lang or guess_lang(text)
    found: dict[str, str] = {}
    for word in _WORD.findall(text.lower()):
        if word.isdigit() or word in KEEP[lang]:
            continue
        for token in language_analyzer(lang)(word):
            if not token.text.isdigit():
                found.setdefault(token.text, word)
    return Words(lang, found)


def synonym_stems(word: str, lang: str, groups: dict[str, list[str]]) -> set[str]:
    """The stems in lang of the word's synonyms (the index's synonyms.txt groups, folded words)."""
    pieces = [piece for alt in groups.get(word, []) for piece in alt.split()]
    return {stem for piece in pieces for _, stem in stems(piece, (lang,))}


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared stems over all stems of the two."""
    return len(a & b) / len(a | b) if a or b else 0.0


def cluster(sets: Sequence[frozenset[str]], threshold: float) -> list[list[int]]:
    """Groups of indexes into sets: two sets whose Jaccard similarity reaches threshold are in one group,
    and so is everything linked to them through such pairs (single linkage). Empty sets stay alone.

    Pairs are found by prefix filtering, as in similarity joins: with each set's stems ordered rarest first,
    two sets can reach the threshold only if they share a stem among the first len - ceil(threshold * len) + 1
    of each; only such candidates are compared, so common words ("no", "error") cost nothing.
    """
    threshold = min(max(threshold, 0.01), 1.0)
    frequency = Counter(stem for s in sets for stem in s)
    parent = list(range(len(sets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[str, list[int]] = defaultdict(list)  # stem -> sets with it in their prefix
    for i, current in enumerate(sets):
        ordered = sorted(current, key=lambda stem: (frequency[stem], stem))
        prefix = ordered[: len(ordered) - math.ceil(threshold * len(ordered)) + 1] if ordered else []
        candidates = {j for stem in prefix for j in seen[stem]}
        for j in candidates:
            if root(i) != root(j) and jaccard(current, sets[j]) >= threshold:
                parent[root(i)] = root(j)
        for stem in prefix:
            seen[stem].append(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(sets)):
        groups[root(i)].append(i)
    return list(groups.values())


def common_words(members: Sequence[Words], limit: int = 6) -> list[str]:
    """The words most members share, most shared first (those in more than half of them, or the top one)."""
    counts = Counter(stem for m in members for stem in m.stems)
    shown: dict[str, str] = {}
    for m in members:
        for stem, word in m.stems.items():
            shown.setdefault(stem, word)
    ranked = sorted(counts, key=lambda s: (-counts[s], shown[s]))
    shared = [s for s in ranked if counts[s] * 2 > len(members)] or ranked[:1]
    return [shown[s] for s in shared[:limit]]
