"""Snippets: the best section of a hit and a short HTML-escaped extract with the matched words in <mark>."""

from __future__ import annotations

import html
import re
from typing import Any

from whoosh.support.charset import accent_map

WIDTH = 220
_NEVER = re.compile(r"(?!x)x")


def word_pattern(exact: set[str], stems: set[str]) -> re.Pattern[str]:
    """A regex over folded text for whole words in exact and words starting with a stem (3+ letters)."""
    parts = [re.escape(w) + r"\b" for w in sorted(exact, key=len, reverse=True) if w]
    parts += [re.escape(s) + r"\w*" for s in sorted(stems, key=len, reverse=True) if len(s) >= 3]
    return re.compile(r"\b(?:" + "|".join(parts) + ")") if parts else _NEVER


def fold_text(text: str) -> str:
    """Lowercase, accents removed, same length as text (so positions map back)."""
    folded = text.lower().translate(accent_map)
    return folded if len(folded) == len(text) else text.lower()


def best_section(
    sections: list[list[Any]], folded: str, pattern: re.Pattern[str]
) -> tuple[str | None, int, int]:
    """The section whose heading and text match most (a heading counts three times)."""
    best: tuple[int, str | None, int, int] = (0, None, 0, len(folded))
    for anchor, title, start, end in sections:
        score = 3 * len(pattern.findall(fold_text(title))) + len(pattern.findall(folded, start, end))
        if score > best[0]:
            best = (score, anchor, start, end)
    return best[1], best[2], best[3]


def make_snippet(text: str, folded: str, pattern: re.Pattern[str], start: int, end: int) -> str:
    """About WIDTH characters of text[start:end] around the first match, escaped, matches in <mark>."""
    first = pattern.search(folded, start, end)
    if first and first.start() - 60 > start:
        space = text.find(" ", first.start() - 60, first.start())
        start = space + 1 if space >= 0 else first.start() - 60
    stop = min(end, start + WIDTH)
    if stop < end:
        space = text.rfind(" ", start, stop)
        stop = space if space > start else stop
    out, cursor = [], start
    for hit in pattern.finditer(folded, start, stop):
        out.append(html.escape(text[cursor : hit.start()]))
        out.append(f"<mark>{html.escape(text[hit.start() : hit.end()])}</mark>")
        cursor = hit.end()
    out.append(html.escape(text[cursor:stop]))
    extract = " ".join("".join(out).split())
    return ("… " if start > 0 else "") + extract + (" …" if stop < len(text) else "")
