"""Read confirmations: one's own changed chapters and scripts to confirm, and the leads' report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from kbserver.api.contract import created, errors, listed
from kbserver.api.deps import CurrentUser, LeadUser, RecordId, ServicesDep, doc_id_path
from kbserver.api.models.acks import AckDiff, Confirmation, ConfirmIn, DocumentAcks, PersonAck
from kbserver.api.paging import PageDep, paginate
from kbserver.errors import Forbidden
from kbserver.users import Role

router = APIRouter(prefix="/api/acks", tags=["read confirmations"], responses=errors(401, 422))
DocId = Annotated[str, doc_id_path()]
DocFilter = Annotated[
    str | None, Query(pattern=r"^(SCR|PROC)-\d{2,}$", description="only this chapter or script")
]


@router.get("", response_model=list[DocumentAcks], responses=listed() | errors(403))
async def documents(
    _lead: LeadUser,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
    kind: Literal["procedure", "script"] | None = None,
) -> list[dict[str, Any]]:
    """Leads and admins: per chapter and chat script, how many of its audience confirmed its current
    version, how many have not yet, and how many are overdue (`KB_ACK_DAYS`); the most overdue first."""
    rows = await run_in_threadpool(services.acks.documents, kind)
    return paginate(rows, chosen, request, response)


@router.get("/people", response_model=list[PersonAck], responses=listed() | errors(403))
async def people(
    _lead: LeadUser,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
    document: DocFilter = None,
    state: Literal["confirmed", "pending", "overdue"] | None = None,
) -> list[dict[str, Any]]:
    """Leads and admins: each operator's and lead's standing on each changed document (who confirmed which
    version and when, who has not, who is overdue), by document, overdue first."""
    rows = await run_in_threadpool(services.acks.people, document, state)
    return paginate(rows, chosen, request, response)


@router.get("/mine", response_model=list[PersonAck], responses=listed())
async def mine(
    user: CurrentUser,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
    document: DocFilter = None,
) -> list[dict[str, Any]]:
    """The chapters and scripts that changed since I last confirmed them, the oldest change first."""
    rows = await run_in_threadpool(services.acks.due, user, document)
    return paginate(rows, chosen, request, response)


@router.get("/mine/{doc_id}", response_model=AckDiff, responses=errors(404))
async def my_ask(doc_id: DocId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """One document I have not confirmed, with the word diff of what changed since the version I confirmed
    (or since the version I started from); 404 when there is nothing to confirm."""
    return await run_in_threadpool(services.acks.ask, user, doc_id)


@router.post(
    "/mine/{doc_id}",
    status_code=201,
    response_model=Confirmation,
    responses=created("the confirmation")
    | {200: {"model": Confirmation, "description": "this version was confirmed before: that confirmation"}}
    | errors(400, 403, 404, 409),
)
async def confirm(
    doc_id: DocId, body: ConfirmIn, user: CurrentUser, services: ServicesDep, response: Response
) -> dict[str, Any]:
    """Confirm that I have read a document's current version (its commit, as the ask gave it). Only for
    myself, only in the document's audience, only the current version (409 names it if it moved on)."""
    record, new = await run_in_threadpool(services.acks.confirm, user, doc_id, body.commit)
    if new:
        response.headers["Location"] = f"/api/acks/confirmations/{record['id']}"
    else:
        response.status_code = 200
    return record


@router.get("/confirmations/{confirmation_id}", response_model=Confirmation, responses=errors(403, 404))
async def confirmation(confirmation_id: RecordId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """One confirmation: one's own, or anyone's for leads and admins."""
    record = await run_in_threadpool(services.acks.confirmation, confirmation_id)
    if record["user"] != user.name and not user.has_role(Role.LEAD):
        raise Forbidden("operators see only their own confirmations")
    return record
