"""Flags on documents and justified deviations from script steps, and the leads' queues of both."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kbserver.api.contract import created, errors, listed
from kbserver.api.deps import CurrentUser, LeadUser, RecordId, ServicesDep, doc_id_path
from kbserver.api.models.feedback import DeviationOut, FlagOut, QueuedFlag
from kbserver.api.paging import PageDep, paginate
from kbserver.api.routes.feedback import find_document, sees_all, with_link
from kbserver.content import parse_document
from kbserver.errors import Forbidden, InvalidInput
from kbserver.feedback.flags import FlagState, Reason
from kbserver.services import Services
from kbserver.users import User

router = APIRouter(prefix="/api", tags=["feedback"], responses=errors(401, 422))
Comment = Annotated[str | None, Field(None, max_length=2000)]
ONE = errors(403, 404)
LEAD_WRITE = errors(400, 403, 404, 409, 503)


class FlagIn(BaseModel):
    reason: Reason
    comment: Comment = None
    ticket: str | None = Field(None, max_length=64)


class DeviationIn(BaseModel):
    script_id: str = Field(pattern=r"^SCR-\d{4,}$")
    step: str = Field(min_length=1, max_length=200, description="the step's anchor, e.g. 3-verificar")
    ticket: str | None = Field(None, max_length=64)
    justification: str = Field(min_length=3, max_length=2000)


class Resolution(BaseModel):
    change: RecordId | None = Field(None, description="link the flag to this change request")
    dismiss: str | None = Field(None, min_length=3, max_length=2000, description="or dismiss it, saying why")


class Review(BaseModel):
    approve: bool
    comment: str = Field("", max_length=2000)


@router.post(
    "/documents/{doc_id}/flags",
    status_code=201,
    response_model=FlagOut,
    responses=created("the flag") | errors(400, 403, 404, 503),
)
async def flag_document(
    doc_id: Annotated[str, doc_id_path()],
    body: FlagIn,
    user: CurrentUser,
    services: ServicesDep,
    response: Response,
) -> dict[str, Any]:
    """Flag a page as incorrect, outdated, unclear or missing information."""
    ticket = services.tickets.check(body.ticket) if body.ticket else None
    await find_document(services, doc_id)
    flag = await run_in_threadpool(
        services.flags.raise_flag, doc_id, user.id, body.reason, body.comment or "", ticket
    )
    services.metrics.flag(body.reason.value)
    response.headers["Location"] = f"/api/flags/{flag['id']}"
    return with_link(services, flag)


@router.get("/flags", response_model=list[QueuedFlag], responses=listed() | errors(403))
async def flag_queue(
    _lead: LeadUser,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
    state: FlagState = FlagState.OPEN,
    reason: Reason | None = None,
    owner: str | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The leads' queue of flags, oldest first, by state, reason, document owner and kind."""
    found = await run_in_threadpool(services.flags.find, [state.value], reason.value if reason else None)
    out = []
    for flag in found:
        stored = await services.run_search(services.search.lookup, flag["document_id"]) or {}
        if (owner and stored.get("owner") != owner.lower()) or (kind and stored.get("kind") != kind):
            continue
        out.append({**with_link(services, flag), "owner": stored.get("owner"), "kind": stored.get("kind")})
    return paginate(out, chosen, request, response)


@router.get("/flags/mine", response_model=list[FlagOut], responses=listed())
def my_flags(
    user: CurrentUser, services: ServicesDep, chosen: PageDep, request: Request, response: Response
) -> list[dict[str, Any]]:
    """The flags I raised, oldest first, and what happened to them."""
    found = services.flags.find([s.value for s in FlagState], user_id=user.id)
    return [with_link(services, f) for f in paginate(found, chosen, request, response)]


def _shown(services: Services, user: User, record: dict[str, Any], which: str) -> dict[str, Any]:
    """A flag or deviation as user may see it: their own, or any for leads and approvers; Forbidden else."""
    if record["user"] != user.name and not sees_all(user):
        raise Forbidden(f"operators see only {which}")
    return with_link(services, record)


@router.get("/flags/{flag_id}", response_model=FlagOut, responses=ONE)
def get_flag(flag_id: RecordId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """One flag: one's own, or any for leads and approvers."""
    return _shown(services, user, services.flags.get(flag_id), "the flags they raised")


@router.post("/flags/{flag_id}/resolve", response_model=FlagOut, responses=LEAD_WRITE)
def resolve_flag(
    flag_id: RecordId, body: Resolution, lead: LeadUser, services: ServicesDep
) -> dict[str, Any]:
    """Link the flag to a change request (it closes when that merges), or dismiss it with a reason."""
    if (body.change is None) == (body.dismiss is None):
        raise InvalidInput("give either change or dismiss")
    if body.change is not None:
        services.workflow.records.get(body.change)  # 404 for an unknown change request
        return with_link(services, services.flags.link(flag_id, body.change, lead.id))
    return with_link(services, services.flags.dismiss(flag_id, lead.id, body.dismiss or ""))


def _steps(services: Services, stored: dict[str, Any]) -> set[str]:
    source = services.repository.read(stored["index_commit"], stored["path"]) or b""
    return {s.anchor for s in parse_document(stored["path"], source).steps}


@router.post(
    "/deviations",
    status_code=201,
    response_model=DeviationOut,
    responses=created("the deviation") | errors(400, 403, 404, 503),
)
async def record_deviation(
    body: DeviationIn, user: CurrentUser, services: ServicesDep, response: Response
) -> dict[str, Any]:
    """Record a justified deviation from a chat-script step."""
    ticket = services.tickets.check(body.ticket) if body.ticket else None
    stored = await find_document(services, body.script_id)
    steps = await run_in_threadpool(_steps, services, stored)  # a git read: off the event loop
    if body.step not in steps:
        raise InvalidInput(f"{body.script_id} has no step {body.step!r}", {"steps": sorted(steps)})
    deviation = await run_in_threadpool(
        services.deviations.record, body.script_id, body.step, ticket, body.justification, user.id
    )
    response.headers["Location"] = f"/api/deviations/{deviation['id']}"
    return with_link(services, deviation)


@router.get("/deviations", response_model=list[DeviationOut], responses=listed())
def list_deviations(
    user: CurrentUser,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
    state: str | None = None,
) -> list[dict[str, Any]]:
    """Deviations, oldest first: all of them for leads and approvers, an operator's own for operators."""
    mine = None if sees_all(user) else user.id
    found = services.deviations.find(state, mine)
    return [with_link(services, d) for d in paginate(found, chosen, request, response)]


@router.get("/deviations/{deviation_id}", response_model=DeviationOut, responses=ONE)
def get_deviation(deviation_id: RecordId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """One deviation: one's own, or any for leads and approvers."""
    return _shown(services, user, services.deviations.get(deviation_id), "the deviations they recorded")


@router.post("/deviations/{deviation_id}/review", response_model=DeviationOut, responses=LEAD_WRITE)
def review_deviation(
    deviation_id: RecordId, body: Review, lead: LeadUser, services: ServicesDep
) -> dict[str, Any]:
    """An L2 lead approves or rejects a deviation, with a comment."""
    return with_link(services, services.deviations.review(deviation_id, body.approve, lead.id, body.comment))
