"""Console pages for the procedures manual: its versions with their approvers, and two versions compared."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from kbserver.api.deps import CurrentUser, ServicesDep
from kbserver.api.routes.console import render
from kbserver.errors import InvalidInput

router = APIRouter(prefix="/app/manual", tags=["console"], include_in_schema=False)


@router.get("")
async def versions_page(request: Request, user: CurrentUser, services: ServicesDep) -> Response:
    """Every version, newest first, with a download link each and a form to compare two."""
    versions = [v.as_json() for v in await run_in_threadpool(services.manual.versions)]
    return render(request, "manual.html", user=user, versions=versions)


@router.get("/compare")
async def compare_page(
    request: Request, user: CurrentUser, services: ServicesDep, old: str = "", new: str = ""
) -> Response:
    """Which chapters changed between two versions, each with its word diff."""
    if not (old.isdigit() and new.isdigit() and 0 < int(old) < 1_000_000 and 0 < int(new) < 1_000_000):
        raise InvalidInput("choose two versions to compare", {"old": old[:20], "new": new[:20]})
    compared = await run_in_threadpool(services.manual.compare, int(old), int(new))
    return render(request, "manual_compare.html", user=user, compared=compared)
