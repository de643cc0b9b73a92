"""Console page for publishing: the unverified commits holding main back, and an admin's acceptance."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from approval.publishing import open_revert
from kbserver.api.deps import LeadUser, ServicesDep
from kbserver.api.routes.console import render
from kbserver.errors import KBError
from kbserver.services import Services
from kbserver.users import User

router = APIRouter(prefix="/app/publishing", tags=["console"], include_in_schema=False)


def _page(request: Request, services: Services, user: User, error: KBError | None = None) -> Response:
    state = services.publication(fresh=True)
    return render(
        request,
        "publishing.html",
        status=error.status if error else 200,
        user=user,
        state=state,
        publication=state,
        events=services.publisher.events(50),
        error=error,
    )


@router.get("")
async def publishing_page(request: Request, user: LeadUser, services: ServicesDep) -> Response:
    """What is published and what holds main back (leads and admins)."""
    return await run_in_threadpool(_page, request, services, user)


@router.post("/accept")
async def accept(
    request: Request,
    user: LeadUser,
    services: ServicesDep,
    commit: str = Form(max_length=40),
    reason: str = Form("", max_length=2000),
) -> Response:
    """Accept the held commits up to commit (admins: the publisher refuses anyone else with 403)."""

    def work() -> None:
        services.publisher.accept(user, commit, reason)
        services.catch_up_index()
        services.catch_up()

    try:
        await run_in_threadpool(work)
    except KBError as exc:
        if exc.status in (401, 403):
            raise
        return await run_in_threadpool(_page, request, services, user, exc)
    return RedirectResponse("/app/publishing", status_code=303)


@router.post("/revert")
async def revert(
    request: Request, user: LeadUser, services: ServicesDep, commit: str = Form(max_length=40)
) -> Response:
    """Open the change request that undoes a held commit, and go to it."""
    try:
        change = await run_in_threadpool(open_revert, services.publisher, services.workflow, user, commit)
    except KBError as exc:
        if exc.status in (401, 403):
            raise
        return await run_in_threadpool(_page, request, services, user, exc)
    return RedirectResponse(f"/app/changes/{change.number}", status_code=303)
