"""The desk's reports by name, shared by the API, the console and `kb report`, and their CSV form."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, get_args

from kbserver.feedback import reports

if TYPE_CHECKING:
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


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row whose list and dict cells are written out as JSON, for a table or a CSV file."""
    return {
        k: (json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v) for k, v in row.items()
    }


def as_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV with a header line, safe to open in a spreadsheet; empty without rows."""
    if not rows:
        return ""
    out = io.StringIO()
    # CRLF, as RFC 4180 has it: the writer then also quotes a text with a lone CR in it.
    writer = csv.DictWriter(out, list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in flat(r).items()} for r in rows)
    return out.getvalue().removesuffix("\r\n")


def report(
    services: Services, name: str, since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """One report by name."""
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
        from kbserver.content.checks import stale_by_owner

        return stale_by_owner(services.repository, services.settings.branch)
    raise ValueError(name)


def _category(services: Services, doc_id: str) -> str | None:
    """An article's category: its folder under docs/kb/ (None for another system's article)."""
    found = services.search.lookup(doc_id) if doc_id[:3] in ("KB-", "SCR", "PRO") else None
    parts = str((found or {}).get("path") or "").split("/")
    return parts[2] if len(parts) > 3 and parts[:2] == ["docs", "kb"] else None
