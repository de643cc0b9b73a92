"""The procedures manual's versions: the list with approvers, each version's PDF, and two compared."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from kbserver.api.contract import errors
from kbserver.api.deps import CurrentUser, ServicesDep

router = APIRouter(prefix="/api/manual", tags=["manual"], responses=errors(401, 422))


class Comparison(BaseModel):
    """The chapters that differ between two versions of the manual."""

    model_config = ConfigDict(extra="allow")

    from_: dict[str, Any] = Field(alias="from", description="the older version")
    to: dict[str, Any] = Field(description="the newer version")
    chapters: list[dict[str, Any]] = Field(
        description="each added, removed or changed chapter, with its diff"
    )


VersionNumber = Annotated[int, Path(ge=1, le=1_000_000, description="the manual's version number")]
From = Annotated[int, Query(alias="from", ge=1, le=1_000_000, description="the older version")]
To = Annotated[int, Query(alias="to", ge=1, le=1_000_000, description="the newer version")]


@router.get("/versions")
async def list_versions(_user: CurrentUser, services: ServicesDep) -> list[dict[str, Any]]:
    """Every version of the manual, newest first: its commit, effective date, change request, the chapters
    it changed, who approved it (from the merge's trailers), and whether its PDF is built yet."""
    versions = await run_in_threadpool(services.manual.versions)
    return [v.as_json() for v in versions]


@router.get(
    "/versions/{number}.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the version's PDF/A"},
        **errors(404, 503),
    },
)
async def download_version(number: VersionNumber, _user: CurrentUser, services: ServicesDep) -> Response:
    """One version's PDF (PDF/A, signed when the service has a signing key), built now if never built."""
    name, data = await run_in_threadpool(services.manual.pdf, number)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/compare", response_model=Comparison, response_model_by_alias=True, responses=errors(404))
async def compare_versions(old: From, new: To, _user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The chapters that differ between two versions, each with the word diff used for change requests."""
    return await run_in_threadpool(services.manual.compare, old, new)
