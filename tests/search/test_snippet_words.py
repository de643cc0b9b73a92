"""The best section of a hit: one pass over its text gives what counting section by section gave."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kbserver
from kbserver.search.snippet import best_section, lower, phrase_pattern, word_pattern

WORD_SETS = [
    ({"vpn", "conecta"}, {"conect"}),
    ({"contrasena"}, {"contrasen", "caduc"}),
    ({"impresora", "no"}, {"impres"}),
    ({"outlook", "sincroniza", "correo"}, {"sincroniz", "corre"}),
    ({"wifi", "red", "a"}, {"red", "corpor"}),
    (set(), {"ses", "usu", "acces"}),
    ({"mfa", "autenticacion"}, set()),
]


def _sections(text: str) -> list[list[Any]]:
    """A section per Markdown heading, as the index stores them: anchor, title, start, end."""
    heads = [m for m in re.finditer(r"^#+ (.*)$", text, re.M)]
    cuts = [0] + [m.start() for m in heads] + [len(text)]
    titles = [""] + [m.group(1) for m in heads]
    return [[f"s{i}", titles[i], cuts[i], cuts[i + 1]] for i in range(len(titles))]


def _counted_per_section(
    sections: list[list[Any]], lowered: str, pattern: re.Pattern[str]
) -> tuple[Any, ...]:
    best: tuple[Any, ...] = (0, None, 0, len(lowered))
    for anchor, title, start, end in sections:
        score = 3 * len(pattern.findall(lower(title))) + len(pattern.findall(lowered, start, end))
        if score > best[0]:
            best = (score, anchor, start, end)
    return best[1:]


def test_one_pass_picks_the_section_counting_per_section_picked() -> None:
    pages = sorted((Path(kbserver.__file__).parent / "starter" / "docs").rglob("*.md"))
    assert len(pages) > 20
    chosen = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        lowered, sections = lower(text), _sections(text)
        for exact, stems in WORD_SETS:
            pattern = word_pattern(exact, stems)
            expected = _counted_per_section(sections, lowered, pattern)
            assert best_section(sections, lowered, pattern) == expected, (page.name, exact)
            chosen += expected[0] not in (None, "s0")
    assert chosen > 50  # the words are in the pages, and sections past the first were chosen


def test_best_section_counts_heading_and_text() -> None:
    text = "Intro sin nada.\nVPN lenta\nLa VPN va lenta, muy lenta.\nOtra\nImpresora atascada."
    lowered = lower(text)
    sections = [["intro", "Intro", 0, 16], ["vpn-lenta", "VPN lenta", 16, 53]]
    sections.append(["otra", "Otra", 53, len(text)])
    assert best_section(sections, lowered, word_pattern({"vpn"}, {"lent"})) == ("vpn-lenta", 16, 53)
    assert best_section(sections, lowered, word_pattern({"impresora"}, set())) == ("otra", 53, len(text))
    assert best_section(sections, lowered, word_pattern({"zzz"}, set())) == (None, 0, len(text))
    assert best_section([], lowered, word_pattern({"vpn"}, set())) == (None, 0, len(text))


def test_patterns_match_whole_words_and_stems_with_any_accent_on_any_letter() -> None:
    text = lower("Contraseña caducada; ÚLTIMO intento, la contraseñas y xcontrasena no. Él ve la VPN-lenta.")
    found = [m.group() for m in word_pattern({"contrasena", "el", "vpn"}, {"ultim"}).finditer(text)]
    assert found == ["contraseña", "último", "él", "vpn"]  # "contraseñas" is another word; "xcontrasena" too
    stems = [m.group() for m in word_pattern(set(), {"contrasen"}).finditer(text)]
    assert stems == ["contraseña", "contraseñas"]
    assert [m.group() for m in phrase_pattern(["vpn", "lenta"]).finditer(text)] == ["vpn-lenta"]
    assert phrase_pattern(["la", "vpn"]).search(text) and not phrase_pattern(["ve", "vpn"]).search(text)
    assert phrase_pattern([]).search(text) and phrase_pattern(["", "vpn"]).search(text)  # nothing to require
