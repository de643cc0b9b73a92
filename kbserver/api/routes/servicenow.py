"""The ServiceNow integration for admins: the outbox with its dead letters, and their retry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kbserver.api.deps import AdminUser, RecordId, ServicesDep
from kbserver.errors import NotFound
from kbserver.servicenow.integration import ServiceNow
from kbserver.servicenow.outbox import EntryState
from kbserver.services import Services

router = APIRouter(prefix="/api/servicenow", tags=["servicenow"])


def integration(services: Services) -> ServiceNow:
    """The running integration; 404 while it is off."""
    if services.servicenow is None:
        raise NotFound("the ServiceNow integration is off: set KB_SERVICENOW_URL")
    return services.servicenow


@router.get("/outbox")
def outbox(
    _admin: AdminUser, services: ServicesDep, state: EntryState | None = None, limit: int = 100
) -> dict[str, Any]:
    """Links waiting for, written to or given up on by ServiceNow (`dead`: too many tries), newest first."""
    box = integration(services).outbox
    return {
        "counts": box.counts(),
        "entries": box.entries(state.value if state else None, max(1, min(limit, 1000))),
    }


@router.post("/outbox/{entry_id}/retry")
def retry(entry_id: RecordId, _admin: AdminUser, services: ServicesDep) -> dict[str, Any]:
    """Send a dead entry again, with a fresh count of tries."""
    found = integration(services)
    entry = found.outbox.retry(entry_id)
    found.worker.wake()
    return entry
