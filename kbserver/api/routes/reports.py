"""Reports for leads, client approvers and admins, over a date range."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from kbserver.api.deps import ReportReader, ServicesDep
from kbserver.commands.reports import report

router = APIRouter(prefix="/api/reports", tags=["reports"])
Since = Annotated[datetime | None, Query(alias="from", description="start of the range (ISO date or time)")]
Until = Annotated[datetime | None, Query(alias="to", description="end of the range, exclusive")]


@router.get("/documents")
def documents(
    _reader: ReportReader, services: ServicesDep, since: Since = None, until: Until = None
) -> list[dict[str, Any]]:
    """Per document: uses, helpful rates, first-contact and escalation rates, open flags, owner."""
    return report(services, "documents", since, until)


@router.get("/gaps")
def gaps(
    _reader: ReportReader, services: ServicesDep, since: Since = None, until: Until = None
) -> list[dict[str, Any]]:
    """The most frequent searches that found nothing."""
    return report(services, "gaps", since, until)


@router.get("/kpis")
def kpis(
    _reader: ReportReader, services: ServicesDep, since: Since = None, until: Until = None
) -> list[dict[str, Any]]:
    """Per week: link rate, first-contact resolution and escalation rate."""
    return report(services, "kpis", since, until)


@router.get("/stale")
def stale(_reader: ReportReader, services: ServicesDep) -> list[dict[str, Any]]:
    """Overdue reviews and translations behind their source, by owner."""
    return report(services, "stale", None, None)
