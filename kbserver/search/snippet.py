"""Snippets: the best section of a hit and a short HTML-escaped extract with the matched words in <mark>.

Patterns match the stored text lowercased (`lower`, same length), ignoring accents: no hit's text is folded.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from typing import Any

WIDTH = 220
_NEVER = re.compile(r"(?!x)x")
_VARIANTS = {
    "a": "aáàâäãå",
    "e": "eéèêë",
    "i": "iíìîï",
    "o": "oóòôöõø",
    "u": "uúùûü",
    "n": "nñ",
    "c": "cç",
    "y": "yýÿ",
}


def _loose(word: str) -> str:
    """A regex for a folded word that also matches its accented and capitalised forms."""
    return "".join(f"[{_VARIANTS[c]}]" if c in _VARIANTS else re.escape(c) for c in word)


def lower(text: str) -> str:
    """text in lowercase, each character kept in its place (positions in it are positions in text)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)  # "İ" lowercases to two


def _first(word: str) -> str:
    """A regex class for the first letter of a folded word and its accented forms."""
    return f"[{_VARIANTS[word[0]]}]" if word[0] in _VARIANTS else re.escape(word[0])


def word_pattern(exact: set[str], stems: set[str]) -> re.Pattern[str]:
    """A regex over lowered text for whole words in exact and words starting with a stem (3+ letters), with
    or without accents."""
    whole = [w for w in sorted(exact, key=len, reverse=True) if w]
    starts = [s for s in sorted(stems, key=len, reverse=True) if len(s) >= 3]
    words = whole + starts
    if not words:
        return _NEVER
    # The pattern starts with a class of the words' first letters, which Python's regex engine scans for
    # without trying a match at each position (twice as fast over a page as a look-ahead or a boundary
    # first). The boundary is checked behind that letter, and each word checks its own first letter behind.
    parts = [f"(?<={_first(w)})" + _loose(w[1:]) + r"\b" for w in whole]
    parts += [f"(?<={_first(s)})" + _loose(s[1:]) + r"\w*" for s in starts]
    firsts = "".join(sorted({v for w in words for v in _VARIANTS.get(w[0], w[0])}))
    return re.compile("[" + re.escape(firsts) + r"](?<=\b.)(?:" + "|".join(parts) + ")")


def phrase_pattern(words: list[str]) -> re.Pattern[str]:
    """A regex over lowered text for folded words one after the other, with or without accents, any
    punctuation between (first letter first, as in word_pattern). No words: a pattern that any text holds."""
    words = [w for w in words if w]
    if not words:
        return re.compile("")
    tail = [_loose(words[0][1:]), *(_loose(w) for w in words[1:])]
    return re.compile(_first(words[0]) + r"(?<=\b.)" + r"\W+".join(tail) + r"\b")


def best_section(
    sections: list[list[Any]], lowered: str, pattern: re.Pattern[str]
) -> tuple[str | None, int, int]:
    """The section whose heading and text match most (a heading counts three times)."""
    best: tuple[int, str | None, int, int] = (0, None, 0, len(lowered))
    if not sections:
        return best[1], best[2], best[3]
    found = [
        m.start() for m in pattern.finditer(lowered, min(s[2] for s in sections), max(s[3] for s in sections))
    ]
    for anchor, title, start, end in sections:
        inside = bisect_left(found, end) - bisect_left(found, start)
        score = 3 * len(pattern.findall(lower(title))) + inside
        if score > best[0]:
            best = (score, anchor, start, end)
    return best[1], best[2], best[3]


def make_snippet(text: str, lowered: str, pattern: re.Pattern[str], start: int, end: int) -> str:
    """About WIDTH characters of text[start:end] around the first match, escaped, matches in <mark>."""
    first = pattern.search(lowered, start, end)
    if first and first.start() - 60 > start:
        space = text.find(" ", first.start() - 60, first.start())
        start = space + 1 if space >= 0 else first.start() - 60
    stop = min(end, start + WIDTH)
    if stop < end:
        space = text.rfind(" ", start, stop)
        stop = space if space > start else stop
    out, cursor = [], start
    for hit in pattern.finditer(lowered, start, stop):
        out.append(html.escape(text[cursor : hit.start()]))
        out.append(f"<mark>{html.escape(text[hit.start() : hit.end()])}</mark>")
        cursor = hit.end()
    out.append(html.escape(text[cursor:stop]))
    extract = " ".join("".join(out).split())
    return ("… " if start > 0 else "") + extract + (" …" if stop < len(text) else "")


def with_phrases(
    searcher: Any, phrases: list[list[str]], hits: list[Any], window: int
) -> tuple[list[Any], int]:
    """The hits whose title, tags or text hold every phrase, word after word (at most window of them), and
    how many hits were checked."""
    patterns = [phrase_pattern(p) for p in phrases]
    kept, checked = [], 0
    for score, doc in hits:
        checked += 1
        stored = searcher.stored_fields(doc)
        text = lower(f"{stored.get('title', '')}\n{stored.get('tags', '')}\n{stored.get('body', '')}")
        if all(p.search(text) for p in patterns):
            kept.append((score, doc))
            if len(kept) >= window:
                break
    return kept, checked
