"""Response bodies of read confirmations: the report per document and per person, and one's own asks."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

Kind = Literal["procedure", "script"]
Level = Literal["L1", "L2"]


class DocumentVersion(BaseModel):
    """A chapter's or chat script's current version."""

    document_id: str
    kind: Kind
    title: str
    page: str = Field(description="the document's path on the site")
    version: int = Field(description="its text's version: 1 for the seed, one more per change of text")
    commit: str = Field(description="the commit on main that made this version")
    changed_at: AwareDatetime


class DocumentAcks(DocumentVersion):
    """How far one chapter's or script's audience has confirmed its current version."""

    audience: list[Level]
    asked: int = Field(description="people whom a change reached: confirmed + pending + overdue")
    confirmed: int
    pending: int
    overdue: int = Field(description="not confirmed KB_ACK_DAYS after the change reached them")


class PersonAck(DocumentVersion):
    """One person's standing on one document."""

    user: str
    display_name: str
    role: Literal["operator", "lead"]
    state: Literal["confirmed", "pending", "overdue"]
    confirmed_version: int | None = Field(description="the last version they confirmed")
    confirmed_at: AwareDatetime | None
    since_version: int | None = Field(description="the version their reading starts from; null: all of it")
    asked_at: AwareDatetime | None = Field(description="when the first change not confirmed reached them")
    due_at: AwareDatetime | None


class DiffSegment(BaseModel):
    kind: Literal["same", "del", "ins"]
    text: str


class DiffLine(BaseModel):
    kind: Literal["same", "del", "ins", "change"]
    old_no: int | None
    new_no: int | None
    segments: list[DiffSegment]


class AckDiff(PersonAck):
    """A document one has not confirmed, with the word diff of what changed since one's version."""

    since_commit: str | None
    lines: list[DiffLine | None] = Field(description="the word diff; null marks lines left out between hunks")


class ConfirmIn(BaseModel):
    commit: str = Field(pattern=r"^[0-9a-f]{40}$", description="the version read: its commit on main")


class Confirmation(BaseModel):
    """A recorded confirmation: who read which version of which document, and when."""

    id: int
    document_id: str
    version: int
    commit: str
    user: str
    confirmed_at: AwareDatetime
