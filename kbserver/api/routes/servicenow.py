"""The ServiceNow integration for admins: the outbox with its dead letters, and their retry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from kbserver.api.contract import errors
from kbserver.api.deps import AdminUser, RecordId, ServicesDep
from kbserver.errors import NotFound
from kbserver.servicenow.integration import ServiceNow
from kbserver.servicenow.outbox import EntryState
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
    found.worker.wake()
    return entry
