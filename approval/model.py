"""Change requests: their states, reviews and the policy status a reviewer relies on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    NEEDS_UPDATE = "needs_update"
    MERGED = "merged"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_STATES = {State.DRAFT, State.IN_REVIEW, State.CHANGES_REQUESTED, State.APPROVED, State.NEEDS_UPDATE}
EDITABLE_STATES = OPEN_STATES
REVIEWABLE_STATES = {State.IN_REVIEW, State.APPROVED}


class Verdict(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"
    COMMENT = "comment"


@dataclass(frozen=True)
class ChangeRequest:
    number: int
    title: str
    branch: str
    author: str
    state: State
    base_commit: str
    head_commit: str
    merged_commit: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def ref(self) -> str:
        """The change request's name in trailers and messages: CR-<n>."""
        return f"CR-{self.number}"

    def as_json(self) -> dict[str, Any]:
        """The change request as the API shows it."""
        return {
            "number": self.number,
            "ref": self.ref,
            "title": self.title,
            "branch": self.branch,
            "author": self.author,
            "state": self.state.value,
            "base_commit": self.base_commit,
            "head_commit": self.head_commit,
            "merged_commit": self.merged_commit,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Review:
    """A review as recorded, with the reviewer's account as it is now (an approval counts only while the
    reviewer is active and still holds the role they approved as)."""

    user: str
    display_name: str
    email: str
    role: str
    verdict: Verdict
    head_commit: str
    body: str
    created_at: datetime
    current_role: str = ""
    disabled: bool = False


@dataclass(frozen=True)
class PolicyStatus:
    """Approvals required by the policy on main, those received at the head, and the gap."""

    changed: list[str]
    required: dict[str, int]
    received: dict[str, list[str]]
    missing: dict[str, int]
    not_counted: list[dict[str, str]] = field(default_factory=list)
    problem: str | None = None  # why the hard minimum applies instead of the policy on main

    @property
    def met(self) -> bool:
        """Whether every required approval is there."""
        return not self.missing

    def as_json(self) -> dict[str, Any]:
        """The policy status as the API shows it."""
        return {
            "met": self.met,
            "changed": self.changed,
            "required": self.required,
            "received": self.received,
            "missing": self.missing,
            "not_counted": self.not_counted,
            "problem": self.problem,
        }
