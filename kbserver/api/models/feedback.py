"""Response bodies of feedback, ticket, flag and deviation routes."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from kbserver.feedback.flags import FlagState, Reason
from kbserver.feedback.votes import Outcome


class TicketLink(BaseModel):
    """A ticket reference with its link into the ticketing system."""

    ref: str
    url: str


class FeedbackFields(BaseModel):
    id: int
    user: str
    document_id: str
    commit: str = Field(description="the version of the document the operator read")
    helpful: bool
    outcome: Outcome | None
    comment: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class FeedbackRecord(FeedbackFields):
    """Feedback on a document: helpful or not, on which ticket, with what outcome."""

    ticket: TicketLink | None


class TicketFeedback(FeedbackFields):
    """Feedback on a document given on the ticket asked for."""

    ticket: str | None


class TicketDocuments(BaseModel):
    """The documents used on a ticket."""

    ticket: TicketLink
    documents: list[TicketFeedback]


class DocumentTickets(BaseModel):
    """The tickets a document served."""

    document_id: str
    tickets: list[FeedbackRecord]


class FlagOut(BaseModel):
    """A flag on a document and what became of it."""

    id: int
    document_id: str
    user: str
    reason: Reason
    comment: str | None
    ticket: TicketLink | None
    state: FlagState
    change: str | None = Field(description="CR-<number> of the change request that fixes it")
    resolution: str | None
    created_at: AwareDatetime
    closed_at: AwareDatetime | None


class QueuedFlag(FlagOut):
    """A flag in the leads' queue, with the owner and kind of its document."""

    owner: str | None
    kind: str | None


class DeviationOut(BaseModel):
    """A justified deviation from a chat-script step, and its review."""

    id: int
    script_id: str
    step: str
    ticket: TicketLink | None
    justification: str | None
    user: str
    state: Literal["pending", "approved", "rejected"]
    review_comment: str | None
    created_at: AwareDatetime
    reviewed_at: AwareDatetime | None
