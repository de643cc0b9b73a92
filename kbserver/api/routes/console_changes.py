"""Console pages for change requests: the filtered list, one request with its word diff, and actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from approval.model import OPEN_STATES, State
from approval.review import change_diff
from approval.worddiff import word_diff
from kbserver.api.deps import CurrentUser, ServicesDep
from kbserver.api.routes.console import render
from kbserver.errors import KBError
from kbserver.services import Services
from kbserver.users import Role, User

router = APIRouter(prefix="/app/changes", tags=["console"], include_in_schema=False)
ACTIONS = ("approve", "request-changes", "reject", "comment", "submit", "withdraw", "update", "merge")


@router.get("")
def change_list(
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    state: str = "",
    mine: bool = False,
    awaiting: bool = False,
) -> Response:
    """Change requests, filtered by state, mine, or waiting for my approval."""
    wanted = state if state in {s.value for s in State} else None
    found = services.workflow.records.find(wanted, user.name if mine else None)
    if awaiting:
        found = services.workflow.awaiting(user, found)
    return render(
        request,
        "changes.html",
        user=user,
        changes=found,
        states=[s.value for s in State],
        state=wanted or "",
        mine=mine,
        awaiting=awaiting,
    )


def allowed_actions(services: Services, user: User, number: int) -> set[str]:
    """The actions the page offers this user; the workflow checks each again when it is used."""
    change = services.workflow.records.get(number)
    is_author = user.name == change.author
    can_review = user.has_role(Role.LEAD, Role.APPROVER) and not is_author
    actions = {"comment"} if change.state in OPEN_STATES else set()
    if change.state is State.IN_REVIEW and can_review:
        actions.add("request-changes")
        if services.workflow.can_approve(user, change):  # not offered to someone who wrote part of it
            actions.add("approve")
    if change.state in OPEN_STATES and can_review:
        actions.add("reject")
    if is_author and change.state in (State.DRAFT, State.CHANGES_REQUESTED):
        actions.add("submit")
    if change.state in OPEN_STATES and (is_author or user.has_role(Role.ADMIN)):
        actions.add("withdraw")
    if change.state in OPEN_STATES and (is_author or user.has_role(Role.LEAD)):
        actions.add("update")
    if change.state is State.APPROVED and user.has_role(Role.LEAD):
        actions.add("merge")
    return actions


def _page(
    request: Request, services: Services, user: User, number: int, error: KBError | None = None
) -> Response:
    change = services.workflow.records.get(number)
    files = change_diff(services.repository, change, services.main_commit() or change.base_commit)
    for entry in files:
        entry["lines"] = word_diff(entry["old_text"], entry["new_text"])
    return render(
        request,
        "change.html",
        status=error.status if error else 200,
        user=user,
        change=change,
        files=files,
        policy=services.workflow.status(number),
        reviews=services.workflow.records.reviews(number),
        events=services.workflow.records.events(number),
        actions=allowed_actions(services, user, number),
        error=error,
    )


@router.get("/{number}")
def change_page(number: int, request: Request, user: CurrentUser, services: ServicesDep) -> Response:
    """One change request: per-file word diff and preview, policy status, comments, audit log, actions."""
    return _page(request, services, user, number)


@router.post("/{number}/{action}")
async def change_action(
    number: int,
    action: str,
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    body: str = Form("", max_length=10_000),
) -> Response:
    """Run an action from the page's forms; the workflow enforces who may do what (403 otherwise)."""
    if action not in ACTIONS:
        unknown = KBError(f"unknown action {action!r}")
        return await run_in_threadpool(_page, request, services, user, number, unknown)
    work = services.workflow
    calls: dict[str, Any] = {
        "approve": lambda: work.approve(user, number, body),
        "request-changes": lambda: work.request_changes(user, number, body),
        "reject": lambda: work.reject(user, number, body),
        "comment": lambda: work.comment(user, number, body),
        "submit": lambda: work.submit(user, number),
        "withdraw": lambda: work.withdraw(user, number),
        "update": lambda: work.update(user, number),
        "merge": lambda: services.merge(user, number),
    }
    try:
        await run_in_threadpool(calls[action])
    except KBError as exc:
        if exc.status in (401, 403):
            raise
        return await run_in_threadpool(_page, request, services, user, number, exc)
    return RedirectResponse(f"/app/changes/{number}", status_code=303)
