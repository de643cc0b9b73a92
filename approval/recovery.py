"""After a crash, git is the truth: the state store is brought into agreement with the content repository.

A process can die between a git write and the state store's record of it. These functions find what git has
and the store lacks, and record it with an audit event (action `reconcile`, no user).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from approval.model import OPEN_STATES, ChangeRequest, State
from approval.trailers import read_merge
from kbserver.errors import Conflict
from kbserver.repository import ContentRepository

if TYPE_CHECKING:
    from approval.workflow import Workflow

log = logging.getLogger(__name__)
SCAN = 500  # merges on main looked at; a crash is recovered at the next start, long before 500 more merges


def claim_branch(repo: ContentRepository, name: str, main: str) -> None:
    """Create a new change request's branch at main, taking over one left by a creation that never completed
    (if it holds no work); otherwise Conflict, and the creation fails."""
    try:
        repo.create_branch(name, main)
    except Conflict:
        old = repo.head(name)
        if old is None or not repo.is_ancestor(old, main):
            raise
        repo.move_branch(name, main, old)


def drop_branch(repo: ContentRepository, name: str, main: str) -> None:
    """Remove the branch of a creation that failed after making it (unless it moved meanwhile)."""
    try:
        repo.delete_branch(name, main)
    except Conflict:
        log.warning("branch %s of a failed creation moved; left in place", name)


def record_merges(flow: Workflow) -> list[int]:
    """Mark merged the open change requests whose merge is on main; returns their numbers.

    A merge counts only if its final trailer block names exactly one change request and its second parent is
    that change request's head as recorded: a trailer typed higher up in a message, or a merge of another
    branch that claims the number, marks nothing.
    """
    merged_on_main: dict[int, tuple[str, str]] = {}
    for sha, parents, trailers in flow.repo.trailer_history(flow.branch, SCAN):
        found = read_merge(trailers)
        if found and len(parents) == 2:
            merged_on_main.setdefault(found.number, (sha, parents[1]))
    fixed = []
    for change in flow.records.find():
        if change.state not in OPEN_STATES or change.number not in merged_on_main:
            continue
        sha, merged_head = merged_on_main[change.number]
        if merged_head != change.head_commit:
            log.warning(
                "%s: merge %s on main names it but merges %s, not its head %s; not marked merged",
                change.ref,
                sha[:12],
                merged_head[:12],
                change.head_commit[:12],
            )
            continue
        flow.records.transition(change, None, "reconcile", State.MERGED, merged=sha, detail="found on main")
        fixed.append(change.number)
    return fixed


def sync_head(flow: Workflow, change: ChangeRequest) -> ChangeRequest:
    """Record the head git has for an open change request's branch, if the store says otherwise.

    A moved head dismisses earlier approvals, as any new commit does. A branch that is missing is made again
    at the recorded head (the store's last word on it; nothing newer exists in git).
    """
    if change.state not in OPEN_STATES:
        return change
    head = flow.repo.head(change.branch)
    if head == change.head_commit:
        return change
    if head is None:
        try:
            flow.repo.create_branch(change.branch, change.head_commit)
        except Conflict:
            return change  # made meanwhile by someone else
        return flow.records.transition(
            change,
            None,
            "reconcile",
            detail=f"branch {change.branch} was missing; made again at the recorded head",
        )
    state = State.IN_REVIEW if change.state in (State.APPROVED, State.NEEDS_UPDATE) else change.state
    return flow.records.transition(
        change,
        None,
        "reconcile",
        state,
        head,
        f"branch head in git is {head[:12]}, the record said {change.head_commit[:12]}; git is the truth",
    )


def sync_heads(flow: Workflow) -> list[int]:
    """Bring every open change request's recorded head into agreement with its branch; returns them."""
    fixed = []
    for change in flow.records.find():
        if sync_head(flow, change) != change:
            fixed.append(change.number)
    return fixed


def drop_orphan_branches(flow: Workflow) -> list[str]:
    """Delete change branches that no change request names and that hold no work (their tip is on main)."""
    main = flow.repo.head(flow.branch)
    dropped: list[str] = []
    if main is None:
        return dropped
    with flow.records.creation_lock():  # a branch of a creation in progress is not an orphan
        known = {c.branch for c in flow.records.find()}
        for name, tip in flow.repo.branches("change/").items():
            if name in known or not flow.repo.is_ancestor(tip, main):
                continue
            try:
                flow.repo.delete_branch(name, tip)
            except Conflict:
                continue
            log.warning("deleted branch %s: left by a change-request creation that never completed", name)
            dropped.append(name)
    return dropped
