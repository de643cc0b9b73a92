"""Text analysis: per-language stemming with accents folded first, and an unstemmed folded form."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.lang import stopwords_for_language
from whoosh.support.charset import accent_map

LANGS = ("es", "en")
WORD = r"\w+(?:[.'’]\w+)*"
# Stop words that carry meaning in a help desk's questions: negations ("no imprime", "not syncing") and the
# particles of phrasal verbs ("turn off", "log out", "sign up"); in Spanish also nouns the stock list holds
# as verb forms ("estado de la impresora", "sentido").
KEEP = {
    "en": {"no", "nor", "not", "off", "on", "out", "up", "down", "over", "under", "again"},
    "es": {"no", "ni", "sin", "contra", "estado", "estados", "sentido", "sentidos", "sentida", "sentidas"},
}


def stop_words(lang: str) -> frozenset[str]:
    """The stock stop words of lang less the ones that carry meaning, with their accentless forms."""
    words = set(stopwords_for_language(lang)) - KEEP[lang]
    return frozenset(words | {w.translate(accent_map) for w in words})


class SpanishSuffixFilter(Filter):  # type: ignore[misc]
    """Put the accent back on -cion/-sion after folding.

    Snowball's Spanish stemmer knows the suffix only with its accent: without this, `configuracion` would
    not be stemmed like `configuración` and `configuraciones`.
    """

    def __call__(self, tokens: Iterator[Any]) -> Iterator[Any]:
        for token in tokens:
            text = token.text
            if text.endswith(("cion", "sion")) and len(text) > 5:
                token.text = text[:-2] + "ón"
            yield token


@cache
def language_analyzer(lang: str) -> Analyzer:
    """Stop words and Snowball stemming for lang, with accents folded before and after stemming."""
    chain = (
        RegexTokenizer(WORD)
        | LowercaseFilter()
        | StopFilter(stoplist=stop_words(lang), minsize=1)
        | CharsetFilter(accent_map)
    )
    if lang == "es":
        chain = chain | SpanishSuffixFilter()
    return chain | StemFilter(lang=lang, cachesize=50000) | CharsetFilter(accent_map)


@cache
def folding_analyzer() -> Analyzer:
    """Lowercase and accent-folded whole words, no stop words: for phrases, typos and prefixes."""
    return RegexTokenizer(WORD) | LowercaseFilter() | CharsetFilter(accent_map)


_FOLD = folding_analyzer()


def fold(text: str) -> list[str]:
    """The folded words of text."""
    return [t.text for t in _FOLD(text)]


def transpositions(word: str) -> list[str]:
    """The word with each pair of neighbouring letters swapped: the commonest typo of fast typists."""
    return [
        word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        for i in range(len(word) - 1)
        if word[i] != word[i + 1]
    ]


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): a swap of neighbours costs 1."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]
