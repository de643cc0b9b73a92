"""`kb report`: a report as a table for people, or as JSON or CSV for scripts."""

from __future__ import annotations

import json
from typing import Any

from kbserver.feedback.catalog import as_csv, flat


def render(rows: list[dict[str, Any]], as_json: bool, as_csv_text: bool) -> str:
    """The rows as JSON, CSV or an aligned table."""
    if as_json:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    if not rows:
        return "(no rows)"
    if as_csv_text:
        return as_csv(rows)
    flat_rows = [flat(r) for r in rows]
    columns = list(flat_rows[0])
    cells = [[str(c).upper() for c in columns]] + [
        ["" if r[c] is None else str(r[c]) for c in columns] for r in flat_rows
    ]
    widths = [min(40, max(len(row[i]) for row in cells)) for i in range(len(columns))]
    return "\n".join(
        "  ".join(v[:40].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
