"""The ServiceNow integration: the outbox with its dead letters and their retry (admins); knowledge gaps from
tickets, and a gap proposed as a new article's change request (leads)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from kbserver.api.contract import created, errors, listed
from kbserver.api.deps import AdminUser, LeadUser, RecordId, ReportReader, ServicesDep
from kbserver.api.models.gaps import GapCluster, GapProposal, GapProposalIn
from kbserver.api.paging import PageDep, paginate
from kbserver.errors import NotFound
from kbserver.servicenow.integration import ServiceNow
from kbserver.servicenow.outbox import EntryState
from kbserver.servicenow.proposals import gaps, propose
from kbserver.services import Services

router = APIRouter(prefix="/api/servicenow", tags=["servicenow"], responses=errors(401, 403, 404, 422))


class Outbox(BaseModel):
    """The ServiceNow outbox: counts per state and the entries asked for."""

    model_config = ConfigDict(extra="allow")

    counts: dict[str, int] = Field(description="entries per state")
    entries: list[dict[str, Any]] = Field(description="the entries, newest first")


class Entry(BaseModel):
    """One link waiting for, written to or given up on by ServiceNow."""

    model_config = ConfigDict(extra="allow")


def integration(services: Services) -> ServiceNow:
    """The running integration; 404 while it is off."""
    if services.servicenow is None:
        raise NotFound("the ServiceNow integration is off: set KB_SERVICENOW_URL")
    return services.servicenow


@router.get("/outbox", response_model=Outbox)
def outbox(
    _admin: AdminUser, services: ServicesDep, state: EntryState | None = None, limit: int = 100
) -> dict[str, Any]:
    """Links waiting for, written to or given up on by ServiceNow (`dead`: too many tries), newest first."""
    box = integration(services).outbox
    return {
        "counts": box.counts(),
        "entries": box.entries(state.value if state else None, max(1, min(limit, 1000))),
    }


@router.post("/outbox/{entry_id}/retry", response_model=Entry, responses=errors(409))
def retry(entry_id: RecordId, _admin: AdminUser, services: ServicesDep) -> dict[str, Any]:
    """Send a dead entry again, with a fresh count of tries."""
    found = integration(services)
    entry = found.outbox.retry(entry_id)
    found.wake()
    return entry


Since = Annotated[datetime | None, Query(alias="from", description="start (default: 30 days before the end)")]
Until = Annotated[datetime | None, Query(alias="to", description="end of the range, exclusive")]


@router.get("/gaps", response_model=list[GapCluster], responses=listed())
def gap_clusters(
    _reader: ReportReader,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
    since: Since = None,
    until: Until = None,
    min_tickets: Annotated[int, Query(ge=1, le=1_000_000, description="smallest cluster listed")] = 2,
) -> list[dict[str, Any]]:
    """Knowledge gaps from tickets: resolved incidents with no article attached or linked, whose best search
    hit holds less than KB_SERVICENOW_GAP_COVERAGE of their words, in clusters of similar descriptions, the
    largest first (from the incidents pulled already; empty when none were)."""
    return paginate(gaps(services, since, until, min_tickets), chosen, request, response)


@router.post(
    "/gaps/{cluster}/change-request",
    status_code=201,
    response_model=GapProposal,
    responses=created("the change request") | errors(400, 409, 503),
)
def propose_gap(
    cluster: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{1,40}$", description="any ticket of the gap")],
    user: LeadUser,
    services: ServicesDep,
    response: Response,
    body: GapProposalIn | None = None,
) -> dict[str, Any]:
    """Open a change request with a new article drafted from the gap, quoting its tickets; it goes through
    review and sign-off like any other (409 when the gap is proposed already)."""
    asked = body or GapProposalIn()
    done = propose(services, cluster, user.name, asked.since, asked.until, asked.title, asked.category)
    response.headers["Location"] = f"/api/changes/{done['change_request']}"
    return done
