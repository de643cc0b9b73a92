"""Feedback on documents and the tickets they served, over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, model_validator

from kbserver.api.contract import created, errors, listed
from kbserver.api.deps import CurrentUser, RecordId, ServicesDep, doc_id_path
from kbserver.api.models.feedback import DocumentTickets, FeedbackRecord, TicketDocuments
from kbserver.api.paging import PageDep, paginate
from kbserver.errors import Forbidden, NotFound
from kbserver.feedback.votes import Outcome, Vote
from kbserver.services import Services
from kbserver.users import Role, User

router = APIRouter(prefix="/api", tags=["feedback"], responses=errors(401, 422))
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


async def find_document(services: Services, doc_id: str | None, page: str | None = None) -> dict[str, Any]:
    """The indexed document by id or page (from the cache when it is there); 404 when there is none."""
    found, stored = services.search.cached_brief(doc_id, page)
    if not found:
        stored = await services.run_search(services.search.brief, doc_id, page)
    if stored is None:
        raise NotFound(f"no document {doc_id or page}")
    return stored


def with_link(services: Services, record: dict[str, Any]) -> dict[str, Any]:
    """The record with its ticket reference turned into a link."""
    return {**record, "ticket": services.tickets.as_json(record.get("ticket"))}


def sees_all(user: User) -> bool:
    """Leads and approvers see everyone's feedback, flags and deviations; operators their own."""
    return user.has_role(Role.LEAD, Role.APPROVER)


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackRecord,
    responses={
        200: {
            "model": FeedbackRecord,
            "description": "an earlier record of this user, document and ticket, updated",
        },
    }
    | created("the new feedback record")
    | errors(400, 403, 404, 503),
)
async def give_feedback(
    body: FeedbackIn, user: CurrentUser, services: ServicesDep, response: Response
) -> dict[str, Any]:
    """Say whether a document helped, on which ticket and with what outcome; resubmitting updates it (200)."""
    ticket = services.tickets.check(body.ticket) if body.ticket else None
    stored = await find_document(services, body.document_id, body.page)
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
    record, is_new = await services.run_write(services.feedback.record, vote, link)
    services.metrics.vote(body.helpful)
    if link is not None and services.servicenow is not None:
        services.servicenow.wake()  # delivered in the background: ServiceNow never delays this answer
    if body.search_id and ticket:
        await services.run_write(services.search_log.linked, body.search_id, user.id)
    if is_new:
        response.headers["Location"] = f"/api/feedback/{record['id']}"
    else:
        response.status_code = 200
    return with_link(services, record)


@router.get("/feedback/{feedback_id}", response_model=FeedbackRecord, responses=errors(403, 404))
def get_feedback(feedback_id: RecordId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """One feedback record: one's own, or anyone's for leads and approvers."""
    record = services.feedback.get(feedback_id)
    if record["user"] != user.name and not sees_all(user):
        raise Forbidden("operators see only their own feedback")
    return with_link(services, record)


@router.get("/tickets/{ref}", response_model=TicketDocuments, responses=listed())
def ticket_documents(
    ref: str, user: CurrentUser, services: ServicesDep, chosen: PageDep, request: Request, response: Response
) -> dict[str, Any]:
    """The documents used on a ticket (operators see only their own feedback); the page is of `documents`."""
    ticket = services.tickets.check(ref)
    rows = services.feedback.for_ticket(ticket)
    if not sees_all(user):
        rows = [r for r in rows if r["user"] == user.name]
    return {
        "ticket": services.tickets.as_json(ticket),
        "documents": paginate(rows, chosen, request, response),
    }


@router.get("/documents/{doc_id}/tickets", response_model=DocumentTickets, responses=listed() | errors(404))
async def document_tickets(
    doc_id: Annotated[str, doc_id_path()],
    user: CurrentUser,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """The tickets a document served, newest first; the page is of `tickets`."""
    await find_document(services, doc_id)
    mine = None if sees_all(user) else user.id
    rows = await run_in_threadpool(services.feedback.for_document, doc_id, mine)
    tickets = [with_link(services, r) for r in paginate(rows, chosen, request, response)]
    return {"document_id": doc_id, "tickets": tickets}
