"""Reports for leads, client approvers and admins, over a date range."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from kbserver.api.contract import errors
from kbserver.api.deps import ReportReader, ServicesDep
from kbserver.api.models.reports import ReportRows
from kbserver.feedback.catalog import ReportName, report

router = APIRouter(prefix="/api/reports", tags=["reports"])
Since = Annotated[datetime | None, Query(alias="from", description="start of the range (ISO date or time)")]
Until = Annotated[datetime | None, Query(alias="to", description="end of the range, exclusive")]


@router.get("/{name}", response_model=ReportRows, responses=errors(401, 403, 422))
def get_report(
    name: Annotated[ReportName, Path(description="which report")],
    _reader: ReportReader,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
) -> list[dict[str, Any]]:
    """One report, computed in the database (the same rows as `kb report NAME --json`):

    - `documents`: per document, uses, helpful rates (overall and since the last change), first-contact
      resolution and escalation rates, open flags, owner and last change;
    - `gaps`: searches that found nothing, and searches whose results nobody opened or linked;
    - `kpis`: per week, link rate, first-contact resolution and escalation rate, from feedback (only the
      tickets someone gave feedback on);
    - `tickets`, `ticket-articles`, `ticket-categories`: over every resolved incident of the desk pulled from
      ServiceNow, per week, article or article category: tickets closed, link rate, first-contact resolution,
      escalation rate, median hours to resolve and satisfaction (empty while the integration is off);
    - `usage`: per week, feedback given and the share that helped;
    - `stale`: overdue reviews and translations behind their source, by owner (no range);
    - `deviations`: how often each script step is deviated from, and how those deviations were judged.
    """
    return report(services, name, since, until)
