"""Word-level diffs for reviewers: lines paired by difflib, changed lines compared word by word."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Segment:
    kind: str  # "same", "del" or "ins"
    text: str


@dataclass(frozen=True)
class Line:
    kind: str  # "same", "del", "ins" or "change" (a line rewritten: its segments hold both versions)
    old_no: int | None
    new_no: int | None
    segments: list[Segment]


def _words(old: str, new: str) -> list[Segment]:
    a, b = TOKENS.findall(old), TOKENS.findall(new)
    out: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(Segment("del", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(Segment("ins", "".join(b[j1:j2])))
    return out


def word_diff(old: str | None, new: str | None, context: int = 3) -> list[Line | None]:
    """The lines of new against old; None marks lines left out between hunks."""
    a, b = (old or "").splitlines(), (new or "").splitlines()
    lines: list[Line | None] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines:
            lines.append(None)
        for op, i1, i2, j1, j2 in group:
            if op == "equal":
                lines += [
                    Line("same", i1 + k + 1, j1 + k + 1, [Segment("same", a[i1 + k])]) for k in range(i2 - i1)
                ]
            elif op == "replace" and i2 - i1 == j2 - j1:
                lines += [
                    Line("change", i1 + k + 1, j1 + k + 1, _words(a[i1 + k], b[j1 + k]))
                    for k in range(i2 - i1)
                ]
            else:
                lines += [Line("del", i + 1, None, [Segment("del", a[i])]) for i in range(i1, i2)]
                lines += [Line("ins", None, j + 1, [Segment("ins", b[j])]) for j in range(j1, j2)]
    return lines
