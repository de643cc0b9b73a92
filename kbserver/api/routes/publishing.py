"""Publishing: which commit of main operators see, the unverified commits holding the rest back, and an
admin's acceptance of them (with a reason, recorded)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from approval.publishing import Publication, open_revert
from kbserver.api.contract import created, errors
from kbserver.api.deps import AdminUser, LeadUser, ServicesDep
from kbserver.services import Services

router = APIRouter(prefix="/api/publishing", tags=["publishing"], responses=errors(401, 403))


class HeldOut(BaseModel):
    """A commit on main that `kb verify` rejects: it and everything after it are not served."""

    commit: str
    subject: str
    author: str
    date: str
    reasons: list[str] = Field(description="why kb verify rejects it")


class EventOut(BaseModel):
    """A baseline or an admin's acceptance."""

    commit: str
    action: str = Field(description="`baseline` (history trusted at first start) or `accept`")
    user: str | None
    reason: str
    created_at: datetime


class PublishingOut(BaseModel):
    """Main's head, the commit served from it, and what holds the rest back."""

    main: str | None
    published: str | None = Field(description="the commit the index and the site are built from")
    current: bool = Field(description="everything on main is published")
    waiting: int = Field(description="commits on main after the published one")
    held: list[HeldOut]
    events: list[EventOut] = Field(description="the latest baselines and acceptances, newest first")


class RevertIn(BaseModel):
    """A held commit to undo through a change request."""

    commit: str = Field(min_length=7, max_length=40, pattern="^[0-9a-f]+$")


class RevertOut(BaseModel):
    """The change request opened to undo the commit: it is reviewed and merged as any other."""

    change_request: int
    branch: str
    head_commit: str


class AcceptIn(BaseModel):
    """An admin's decision to publish unverified commits."""

    commit: str = Field(
        min_length=7, max_length=40, pattern="^[0-9a-f]+$", description="the newest held commit to accept"
    )
    reason: str = Field(min_length=10, max_length=2000, description="why: kept as the audit record")


def _out(services: Services, state: Publication) -> dict[str, Any]:
    return {
        "main": state.main,
        "published": state.published,
        "current": state.current,
        "waiting": state.waiting,
        "held": [held.as_json() for held in state.held],
        "events": services.publisher.events(20),
    }


def _state(services: Services) -> dict[str, Any]:
    return _out(services, services.publication(fresh=True))


@router.get("", response_model=PublishingOut)
async def publishing(services: ServicesDep, _user: LeadUser) -> dict[str, Any]:
    """What is published, and the unverified commits on main that hold the rest back (leads and admins)."""
    return await run_in_threadpool(_state, services)


@router.post("/accept", response_model=PublishingOut, responses=errors(400, 404, 422, 503))
async def accept(body: AcceptIn, services: ServicesDep, user: AdminUser) -> dict[str, Any]:
    """Publish the held commits up to and including `commit` (admins); each acceptance is recorded."""

    def work() -> dict[str, Any]:
        state = services.publisher.accept(user, body.commit, body.reason)
        services.catch_up_index()
        services.catch_up()
        return _out(services, state)

    return await run_in_threadpool(work)


@router.post(
    "/revert",
    response_model=RevertOut,
    status_code=201,
    responses=errors(400, 404, 409, 422, 503) | created("the change request"),
)
async def revert(body: RevertIn, response: Response, services: ServicesDep, user: LeadUser) -> dict[str, Any]:
    """Open a change request that undoes a held commit (leads and admins); once it is merged, publishing goes
    on from its merge."""
    change = await run_in_threadpool(open_revert, services.publisher, services.workflow, user, body.commit)
    response.headers["Location"] = f"/api/changes/{change.number}"
    return {"change_request": change.number, "branch": change.branch, "head_commit": change.head_commit}
