"""Feedback, ticket links, flags and script deviations over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from kbserver.api.deps import (
    CurrentUser,
    LeadUser,
    RecordId,
    ServicesDep,
    doc_id_path,
)
from kbserver.errors import InvalidInput, NotFound
from kbserver.feedback.flags import FlagState, Reason
from kbserver.feedback.votes import Outcome, Vote
from kbserver.services import Services
from kbserver.users import Role

router = APIRouter(prefix="/api", tags=["feedback"])
Comment = Annotated[str | None, Field(None, max_length=2000)]


class FeedbackIn(BaseModel):
    document_id: str | None = Field(None, pattern=r"^(KB|SCR|PROC)-\d{2,}$")
    page: str | None = Field(None, max_length=300, pattern=r"^/[A-Za-z0-9._/-]*$")
    ticket: str | None = Field(None, max_length=64)
    helpful: bool
    outcome: Outcome | None = None
    comment: Comment = None
    search_id: RecordId | None = Field(None, description="the search that led to this document, if any")

    @model_validator(mode="after")
    def _one_target(self) -> FeedbackIn:
        if bool(self.document_id) == bool(self.page):
            raise ValueError("give either document_id or page")
        return self


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


async def _document(services: Services, doc_id: str | None, page: str | None = None) -> dict[str, Any]:
    found, stored = services.search.cached_brief(doc_id, page)
    if not found:
        stored = await services.run_search(services.search.brief, doc_id, page)
    if stored is None:
        raise NotFound(f"no document {doc_id or page}")
    return stored


def _with_link(services: Services, record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "ticket": services.tickets.as_json(record.get("ticket"))}


@router.post("/feedback", status_code=201)
async def give_feedback(body: FeedbackIn, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Say whether a document helped, on which ticket and with what outcome; resubmitting updates it."""
    ticket = services.tickets.check(body.ticket) if body.ticket else None
    stored = await _document(services, body.document_id, body.page)
    vote = Vote(
        user.id,
        stored["id"],
        stored.get("changed") or stored["index_commit"],  # the version of the document the operator read
        ticket,
        body.helpful,
        body.outcome,
        body.comment,
    )
    link = services.ticket_link(stored["url"]) if ticket else None
    record, _created = await services.run_write(services.feedback.record, vote, link)
    services.metrics.vote(body.helpful)
    if link is not None and services.servicenow is not None:
        services.servicenow.worker.wake()  # delivered in the background: ServiceNow never delays this answer
    if body.search_id and ticket:
        await services.run_write(services.search_log.linked, body.search_id, user.id)
    return _with_link(services, record)


@router.get("/tickets/{ref}")
def ticket_documents(ref: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The documents used on a ticket (operators see only their own feedback)."""
    ticket = services.tickets.check(ref)
    rows = services.feedback.for_ticket(ticket)
    if not user.has_role(Role.LEAD, Role.APPROVER):
        rows = [r for r in rows if r["user"] == user.name]
    return {"ticket": services.tickets.as_json(ticket), "documents": rows}


@router.get("/documents/{doc_id}/tickets")
async def document_tickets(
    doc_id: Annotated[str, doc_id_path()], user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """The tickets a document served."""
    await _document(services, doc_id)
    mine = None if user.has_role(Role.LEAD, Role.APPROVER) else user.id
    rows = [_with_link(services, r) for r in services.feedback.for_document(doc_id, mine)]
    return {"document_id": doc_id, "tickets": rows}


@router.post("/documents/{doc_id}/flags", status_code=201)
async def flag_document(
    doc_id: Annotated[str, doc_id_path()],
    body: FlagIn,
    user: CurrentUser,
    services: ServicesDep,
) -> dict[str, Any]:
    """Flag a page as incorrect, outdated, unclear or missing information."""
    ticket = services.tickets.check(body.ticket) if body.ticket else None
    await _document(services, doc_id)
    flag = services.flags.raise_flag(doc_id, user.id, body.reason, body.comment or "", ticket)
    services.metrics.flag(body.reason.value)
    return _with_link(services, flag)


@router.get("/flags")
async def flag_queue(
    _lead: LeadUser,
    services: ServicesDep,
    state: FlagState = FlagState.OPEN,
    reason: Reason | None = None,
    owner: str | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The leads' queue of flags, by state, reason, document owner and kind."""
    found = services.flags.find([state.value], reason.value if reason else None)
    out = []
    for flag in found:
        stored = await services.run_search(services.search.lookup, flag["document_id"]) or {}
        if (owner and stored.get("owner") != owner.lower()) or (kind and stored.get("kind") != kind):
            continue
        out.append({**_with_link(services, flag), "owner": stored.get("owner"), "kind": stored.get("kind")})
    return out


@router.get("/flags/mine")
def my_flags(user: CurrentUser, services: ServicesDep) -> list[dict[str, Any]]:
    """The flags I raised and what happened to them."""
    states = [s.value for s in FlagState]
    return [_with_link(services, f) for f in services.flags.find(states, user_id=user.id)]


@router.post("/flags/{flag_id}/resolve")
def resolve_flag(
    flag_id: RecordId, body: Resolution, lead: LeadUser, services: ServicesDep
) -> dict[str, Any]:
    """Link the flag to a change request (it closes when that merges), or dismiss it with a reason."""
    if (body.change is None) == (body.dismiss is None):
        raise InvalidInput("give either change or dismiss")
    if body.change is not None:
        services.workflow.records.get(body.change)  # 404 for an unknown change request
        return _with_link(services, services.flags.link(flag_id, body.change, lead.id))
    return _with_link(services, services.flags.dismiss(flag_id, lead.id, body.dismiss or ""))


@router.post("/deviations", status_code=201)
async def record_deviation(body: DeviationIn, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Record a justified deviation from a chat-script step."""
    ticket = services.tickets.check(body.ticket) if body.ticket else None
    stored = await _document(services, body.script_id)
    source = services.repository.read(stored["index_commit"], stored["path"]) or b""
    from kbserver.content import parse_document

    steps = {s.anchor for s in parse_document(stored["path"], source).steps}
    if body.step not in steps:
        raise InvalidInput(f"{body.script_id} has no step {body.step!r}", {"steps": sorted(steps)})
    return _with_link(
        services, services.deviations.record(body.script_id, body.step, ticket, body.justification, user.id)
    )


@router.get("/deviations")
def list_deviations(
    user: CurrentUser, services: ServicesDep, state: str | None = None
) -> list[dict[str, Any]]:
    """Deviations: all of them for leads, an operator's own for operators."""
    mine = None if user.has_role(Role.LEAD, Role.APPROVER) else user.id
    return [_with_link(services, d) for d in services.deviations.find(state, mine)]


@router.post("/deviations/{deviation_id}/review")
def review_deviation(
    deviation_id: RecordId, body: Review, lead: LeadUser, services: ServicesDep
) -> dict[str, Any]:
    """An L2 lead approves or rejects a deviation, with a comment."""
    return _with_link(services, services.deviations.review(deviation_id, body.approve, lead.id, body.comment))
