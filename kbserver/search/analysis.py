"""Text analysis: per-language stemming with accents folded first, and an unstemmed folded form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from whoosh.analysis import Analyzer, CharsetFilter, LowercaseFilter, RegexTokenizer, Token
from whoosh.lang import stemmer_for_language, stopwords_for_language
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


@cache
def stop_words(lang: str) -> frozenset[str]:
    """The stock stop words of lang less the ones that carry meaning, with their accentless forms."""
    words = set(stopwords_for_language(lang)) - KEEP[lang]
    return frozenset(words | {w.translate(accent_map) for w in words})


_WORD = re.compile(WORD)
_MISSING = object()
_FORMS: dict[str, dict[str, str | None]] = {lang: {} for lang in LANGS}  # word -> its stem, None: a stop word
_MAX_FORMS = 500_000


def _analyse(lang: str, word: str) -> str | None:
    if word in stop_words(lang):
        return None
    folded = word.translate(accent_map)
    if word[-1].isdigit() and word.isalnum():
        # Snowball's rules remove or replace suffixes of letters, so a word of letters and digits that ends in
        # a digit (an error code, a version, a ticket or model number: most of a desk's distinct words) is
        # its own stem. Apostrophes, which the English stemmer rewrites, go through it.
        return folded
    if lang == "es" and folded.endswith(("cion", "sion")) and len(folded) > 5:
        # Snowball's Spanish stemmer knows -ción/-sión only with the accent: without it, "configuracion"
        # would not be stemmed like "configuración" and "configuraciones".
        folded = folded[:-2] + "ón"
    return str(stemmer_for_language(lang)(folded)).translate(accent_map)


class LanguageAnalyzer(Analyzer):  # type: ignore[misc]
    """Words lowercased, stop words dropped, accents folded, Snowball-stemmed, accents folded again.

    One pass with each word's stem remembered: the same result as the equivalent chain of Whoosh filters,
    several times faster, which is most of the time a full index build takes.
    """

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(  # type: ignore[no-untyped-def]
        self, value, positions=False, chars=False, removestops=True, start_pos=0, mode="", **kwargs
    ) -> Iterator[Any]:
        forms = _FORMS[self.lang]
        if len(forms) > _MAX_FORMS:
            forms.clear()
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        position = start_pos
        for match in _WORD.finditer(value.lower()):
            word = match.group()
            stem = forms.get(word, _MISSING)
            if stem is _MISSING:
                stem = forms[word] = _analyse(self.lang, word)
            if stem is None:
                continue
            token.text, token.boost, token.stopped = stem, 1.0, False
            if positions:
                token.pos = position
                position += 1
            if chars:
                token.startchar, token.endchar = match.start(), match.end()
            yield token


@cache
def language_analyzer(lang: str) -> Analyzer:
    """Stop words and Snowball stemming for lang, with accents folded before and after stemming."""
    return LanguageAnalyzer(lang)


@cache
def folding_analyzer() -> Analyzer:
    """Lowercase and accent-folded whole words, no stop words: for phrases, typos and prefixes."""
    return RegexTokenizer(WORD) | LowercaseFilter() | CharsetFilter(accent_map)


_FOLD = folding_analyzer()


def fold(text: str) -> list[str]:
    """The folded words of text."""
    return [t.text for t in _FOLD(text)]


def vocabulary(text: str) -> set[str]:
    """The distinct folded words of text (as fold gives them, faster)."""
    return {w.translate(accent_map) for w in set(_WORD.findall(text.lower()))}


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
