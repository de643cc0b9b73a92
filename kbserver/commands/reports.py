"""`kb report`: a report as a table for people, or as JSON or CSV for scripts."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any, Literal, get_args

from kbserver.feedback import reports
from kbserver.services import Services

ReportName = Literal[
    "documents",
    "gaps",
    "kpis",
    "usage",
    "stale",
    "deviations",
    "tickets",
    "ticket-articles",
    "ticket-categories",
]
REPORTS: tuple[str, ...] = get_args(ReportName)  # the API, the console and `kb report` offer these
# Read confirmations name people, so the API serves them to leads only (/api/acks); `kb report` has them too.
ACK_REPORTS = ("acks", "acks-documents")


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV injection); the
# gap report carries operators' raw queries, so such text cells get a leading quote.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v) for k, v in row.items()
    }


def render(rows: list[dict[str, Any]], as_json: bool, as_csv: bool) -> str:
    """The rows as JSON, CSV or an aligned table."""
    if as_json:
        return json.dumps(rows, ensure_ascii=False, indent=2)
    if not rows:
        return "(no rows)"
    flat = [_flat(r) for r in rows]
    columns = list(flat[0])
    if as_csv:
        out = io.StringIO()
        # CRLF, as RFC 4180 has it: the writer then also quotes a text with a lone CR in it.
        writer = csv.DictWriter(out, columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: _csv_cell(v) for k, v in r.items()} for r in flat)
        return out.getvalue().removesuffix("\r\n")
    cells = [[str(c).upper() for c in columns]] + [
        ["" if r[c] is None else str(r[c]) for c in columns] for r in flat
    ]
    widths = [min(40, max(len(row[i]) for row in cells)) for i in range(len(columns))]
    return "\n".join(
        "  ".join(v[:40].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def report(
    services: Services, name: str, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """One report by name; shared by the API and `kb report`."""
    span = (since, until)
    if name in ACK_REPORTS:  # where everyone stands now: a range does not apply
        rows = services.acks.people() if name == "acks" else services.acks.documents()
        return [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()} for r in rows]
    if name == "documents":
        return reports.per_document(services.engine, span, services.search.lookup)
    if name == "gaps":
        return reports.content_gaps(services.engine, span)
    if name == "kpis":
        return reports.desk_kpis(services.engine, span)
    if name == "usage":
        return reports.usage_by_week(services.engine, span)
    if name == "deviations":
        return services.deviations.report(since, until)
    if name.startswith("ticket"):
        from kbserver.servicenow.kpis import ticket_kpis

        by = {"tickets": "week", "ticket-articles": "article", "ticket-categories": "category"}[name]
        rule = services.settings.servicenow_fcr_rule
        return ticket_kpis(services.engine, span, rule, by, lambda doc_id: _category(services, doc_id))  # type: ignore[arg-type]
    if name == "stale":
        from kbserver.commands.lint import stale_by_owner

        return stale_by_owner(services.repository, services.settings.branch)
    raise ValueError(name)


def _category(services: Services, doc_id: str) -> str | None:
    """An article's category: its folder under docs/kb/ (None for another system's article)."""
    found = services.search.lookup(doc_id) if doc_id[:3] in ("KB-", "SCR", "PRO") else None
    parts = str((found or {}).get("path") or "").split("/")
    return parts[2] if len(parts) > 3 and parts[:2] == ["docs", "kb"] else None
