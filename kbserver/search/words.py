"""What the index knows of a query's words: typo corrections, completions, stems and their language."""

from __future__ import annotations

from typing import Any

from kbserver.search.analysis import LANGS
from kbserver.search.query import FIRST_LETTER_TYPO, MAX_COMPLETIONS, MAX_TYPOS, TYPO_BOOST, stems
from kbserver.search.typos import TypoTable, allowed_typos

PREFIX_SCAN = 300  # completions looked at for an unfinished word
LANG_EVIDENCE = 4.0  # how much more common a word must be in one language to say the query is in it


class Words:
    """The query's words against the index's vocabulary (the typo table of its generation)."""

    def __init__(self, table: TypoTable) -> None:
        self.table = table

    def known(self, word: str) -> bool:
        return self.table.known(word)

    def typo_forms(self, word: str) -> list[tuple[float, str]]:
        """(weight, form) of indexed words in typo distance: nearest, same first letter, frequent first."""
        found = []
        for distance, form in self.table.candidates(word, allowed_typos(word)):
            if (
                frequency := self.table.frequency(form)
            ) > 0:  # a word every document has lost is no candidate
                found.append((distance, form[0] != word[0], -frequency, form))
        found.sort()
        return [
            (TYPO_BOOST / distance * (FIRST_LETTER_TYPO if other_first else 1.0), form)
            for distance, other_first, _, form in found[:MAX_TYPOS]
        ]

    def completions(self, prefix: str) -> list[str]:
        """The most frequent indexed words starting with prefix (a bounded number: prefixes can be broad)."""
        if len(prefix) < 2:
            return []
        words = self.table.completions(prefix, PREFIX_SCAN)
        return sorted(words, key=lambda t: -self.table.frequency(t))[:MAX_COMPLETIONS]


def query_langs(searcher: Any, sizes: dict[str, int], words: list[str]) -> tuple[str, ...]:
    """The languages to search when the query names none: one language when the query is clearly in it.

    sizes: documents per language. A word votes for a language when it is far more common there
    (LANG_EVIDENCE times, per document) than in the other; words both languages use ("vpn", "error") and
    unknown words do not vote. One language is searched when it has votes and the other none; otherwise both
    are. Searching one language's fields halves the work, and a page in the other language would not have
    held those words anyway.
    """
    votes = dict.fromkeys(LANGS, 0)
    for word in dict.fromkeys(words):
        share = {
            lang: max((searcher.doc_frequency(f"text_{lang}", s) for _, s in stems(word, (lang,))), default=0)
            / max(sizes.get(lang, 0), 1)
            for lang in LANGS
        }
        for lang in LANGS:
            if share[lang] > 0 and all(share[lang] >= LANG_EVIDENCE * share[o] for o in LANGS if o != lang):
                votes[lang] += 1
    chosen = [lang for lang in LANGS if votes[lang]]
    return tuple(chosen) if len(chosen) == 1 else LANGS


def stemmed_in(searcher: Any, word: str, langs: tuple[str, ...]) -> bool:
    """Some stem of the word occurs in the content (then it is no typo, only an unseen form)."""
    return any(searcher.doc_frequency(f"text_{lang}", stem) for lang, stem in stems(word, langs))
