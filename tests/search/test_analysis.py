"""The analyzer's shortcuts give what Snowball itself gives."""

from __future__ import annotations

import random
import string

from whoosh.lang import stemmer_for_language

from kbserver.search.analysis import _WORD, LANGS, LanguageAnalyzer, accent_map


def _words_ending_in_a_digit() -> list[str]:
    """Codes as a desk writes them, and random words: letters (accented too), apostrophes, digits."""
    rng = random.Random(20261202)
    letters = string.ascii_lowercase + "áéíóúñüç'’."
    words = [
        "0x80070005",
        "inc0012345",
        "windows11",
        "office365",
        "wifi6",
        "w10",
        "2fa2",
        "o'neill2",
        "año2024",
    ]
    for _ in range(20_000):
        head = "".join(rng.choice(letters) for _ in range(rng.randint(1, 14)))
        word = head + "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 3)))
        words += _WORD.findall(word)  # only what the analyzer would ever see as a word
    return [w for w in words if w[-1].isdigit()]


def test_a_word_ending_in_a_digit_is_stemmed_as_snowball_stems_it() -> None:
    words = _words_ending_in_a_digit()
    assert len(words) > 15_000
    for lang in LANGS:
        stem = stemmer_for_language(lang)
        analyzer = LanguageAnalyzer(lang)
        got = [t.text for t in analyzer(" ".join(words))]
        folded = [w.translate(accent_map) for w in words]
        expected = [str(stem(f)).translate(accent_map) for f in folded]
        assert got == expected
