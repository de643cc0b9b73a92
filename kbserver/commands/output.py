"""How `kb` prints what it found: aligned columns for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any


def table(columns: Sequence[str], rows: Iterable[Sequence[object]], width: int | None = None) -> str:
    """The rows in aligned columns under the column names in capitals; None is an empty cell, and a cell is
    cut to width characters. `(no rows)` when there are none."""
    cells = [[str(name).upper()[:width] for name in columns]]
    cells += [["" if value is None else str(value)[:width] for value in row] for row in rows]
    if len(cells) == 1:
        return "(no rows)"
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def json_text(value: Any) -> str:
    """value as indented JSON, letters as they are (not \\u escapes), dates and paths as strings."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
