"""Response bodies of the change-request routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from approval.model import State


class ChangeRequestOut(BaseModel):
    """A change request: its branch, state and commits."""

    number: int
    ref: str = Field(description="CR-<number>")
    title: str
    branch: str
    author: str
    state: State
    base_commit: str
    head_commit: str
    merged_commit: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class PolicyOut(BaseModel):
    """The approvals the policy requires for the changed files, those received at the head, and the gap."""

    met: bool
    changed: list[str] = Field(description="the changed files")
    required: dict[str, int] = Field(description="role -> approvals required")
    received: dict[str, list[str]] = Field(description="role -> who approved")
    missing: dict[str, int] = Field(description="role -> approvals still missing")
    not_counted: list[dict[str, str]] = Field(description="approvals that do not count, and why")
    problem: str | None = Field(description="why the hard minimum applies instead of the policy on main")


class ReviewOut(BaseModel):
    """A review: approval, request for changes, rejection or comment, at a head commit."""

    user: str
    role: str
    verdict: str
    head_commit: str
    body: str
    at: AwareDatetime


class ChangeView(ChangeRequestOut):
    """A change request with its policy status and reviews."""

    policy: PolicyOut
    reviews: list[ReviewOut]


class FieldChange(BaseModel):
    """A front-matter field that the change sets, changes or removes."""

    field: str
    old: Any
    new: Any


class FileChange(BaseModel):
    """One changed file: its unified diff, changed front-matter fields and the page as it will render."""

    path: str
    status: Literal["added", "deleted", "modified"]
    diff: str
    old_text: str | None
    new_text: str | None
    fields: list[FieldChange]
    html: str | None


class ChangeDiff(BaseModel):
    """What a change request changes, file by file, with its policy status."""

    number: int
    head_commit: str
    files: list[FileChange]
    policy: PolicyOut


class ChangeEvent(BaseModel):
    """One entry of the append-only audit log."""

    user: str | None
    action: str
    from_state: str | None
    to_state: str | None
    head_commit: str
    detail: str
    at: AwareDatetime
