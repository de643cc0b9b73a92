"""The change-request workflow on git branches: propose, review, approve and merge with trailers.

It returns what changed (a new main commit after a merge); the caller reindexes and rebuilds the site.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from approval.model import (
    EDITABLE_STATES,
    OPEN_STATES,
    REVIEWABLE_STATES,
    ChangeRequest,
    PolicyStatus,
    State,
    Verdict,
)
from approval.policy import POLICY_FILE, parse_policy
from approval.records import ChangeRecords
from kbserver.commands.lint import former_ids, lint_change
from kbserver.errors import Conflict, Forbidden, InvalidInput
from kbserver.repository import Author, ContentRepository, MergeConflict
from kbserver.users import Role, User

EDITABLE_PATH = re.compile(r"^(docs/[A-Za-z0-9._/-]+|approvals\.yml|synonyms\.txt|mkdocs\.yml)$")
TRAILER = re.compile(r"^(Change-Request|Approved-by|Reviewed-by): (.+)$", re.M)


def slugify(title: str) -> str:
    """A branch-safe slug of a title."""
    ascii_title = title.lower().encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")[:40] or "cambio"


def _author(user: User) -> Author:
    return Author(user.display_name, user.email)


class Workflow:
    """Change requests of one content repository; merges into `branch` one at a time."""

    def __init__(
        self, records: ChangeRecords, repo: ContentRepository, lock_path: Path, branch: str = "main"
    ) -> None:
        self.records = records
        self.repo = repo
        self.lock_path = lock_path
        self.branch = branch

    def _main(self) -> str:
        head = self.repo.head(self.branch)
        if head is None:
            raise Conflict(f"the content repository has no branch {self.branch}")
        return head

    def prepare(self) -> None:
        """Scan main's history for deleted ids now, so that the first submit is as fast as the next ones."""
        former_ids(self.repo, self._main())

    def create(self, user: User, title: str) -> ChangeRequest:
        """A new change request: a branch change/<n>-<slug> off main, in draft."""
        title = title.strip()
        if not 3 <= len(title) <= 200:
            raise InvalidInput("a change request needs a title of 3 to 200 characters")
        main = self._main()
        number = self.records.next_number()
        branch = f"change/{number}-{slugify(title)}"
        self.repo.create_branch(branch, main)
        return self.records.insert(number, title, branch, user.id, main)

    def write(
        self, user: User, number: int, changes: dict[str, bytes | None], expected_head: str, message: str
    ) -> ChangeRequest:
        """Commit writes (bytes) and deletions (None) on the branch, if its head is still expected_head."""
        change = self.records.get(number)
        self._require_author_or(user, change, Role.LEAD)
        if change.state not in EDITABLE_STATES:
            raise Conflict(f"{change.ref} is {change.state.value}; it can no longer be edited")
        for path in changes:
            if not EDITABLE_PATH.match(path) or ".." in path.split("/"):
                raise InvalidInput(f"{path!r} is not a content path (docs/..., approvals.yml, synonyms.txt)")
        if expected_head != change.head_commit:
            raise Conflict(
                f"{change.ref} moved: expected {expected_head[:12]}, head is {change.head_commit[:12]}",
                {"head": change.head_commit},
            )
        head = self.repo.commit_files(
            change.branch, changes, message or f"Edit {change.ref}", _author(user), expected_head
        )
        # A new commit dismisses earlier approvals: an approved change request goes back to review.
        state = State.IN_REVIEW if change.state in (State.APPROVED, State.NEEDS_UPDATE) else change.state
        return self.records.transition(change, user.id, "commit", state, head, ", ".join(sorted(changes)))

    def submit(self, user: User, number: int) -> ChangeRequest:
        """Ask for review; refused while lint finds errors in the branch (the findings are in the error)."""
        change = self.records.get(number)
        self._require_author_or(user, change, Role.LEAD)
        if change.state not in (State.DRAFT, State.CHANGES_REQUESTED):
            raise Conflict(
                f"{change.ref} is {change.state.value}; only a draft or a returned change is submitted"
            )
        findings = lint_change(self.repo, self._main(), change.head_commit)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise InvalidInput(
                f"lint found {len(errors)} error(s) in {change.ref}",
                {"findings": [f.as_json() for f in errors]},
            )
        change = self.records.transition(change, user.id, "submit", State.IN_REVIEW)
        return self._settle(change, user)

    def comment(self, user: User, number: int, body: str) -> ChangeRequest:
        """Add a comment to the change request."""
        change = self.records.get(number)
        if not body.strip():
            raise InvalidInput("a comment needs text")
        self.records.add_review(change, user.id, user.role.value, Verdict.COMMENT, body)
        return self.records.transition(change, user.id, "comment", detail=body[:2000])

    def approve(self, user: User, number: int, body: str = "") -> ChangeRequest:
        """Approve the current head; it counts toward the user's own role only, never the author's."""
        change = self._review(user, number)
        self.records.add_review(change, user.id, user.role.value, Verdict.APPROVE, body)
        change = self.records.transition(change, user.id, "approve", detail=f"as {user.role.value}")
        return self._settle(change, user)

    def request_changes(self, user: User, number: int, body: str) -> ChangeRequest:
        """Send the change request back to its author."""
        change = self._review(user, number)
        self.records.add_review(change, user.id, user.role.value, Verdict.REQUEST_CHANGES, body)
        return self.records.transition(
            change, user.id, "request_changes", State.CHANGES_REQUESTED, detail=body
        )

    def reject(self, user: User, number: int, body: str) -> ChangeRequest:
        """Close the change request for good."""
        change = self._review(user, number, allow_states=OPEN_STATES)
        self.records.add_review(change, user.id, user.role.value, Verdict.REJECT, body)
        return self.records.transition(change, user.id, "reject", State.REJECTED, detail=body)

    def withdraw(self, user: User, number: int) -> ChangeRequest:
        """The author takes the change request back."""
        change = self.records.get(number)
        self._require_author_or(user, change, Role.ADMIN)
        if change.state not in OPEN_STATES:
            raise Conflict(f"{change.ref} is {change.state.value}")
        return self.records.transition(change, user.id, "withdraw", State.WITHDRAWN)

    def update(self, user: User, number: int) -> ChangeRequest:
        """Merge main into the branch when it merges cleanly; otherwise report the conflicting files."""
        change = self.records.get(number)
        self._require_author_or(user, change, Role.LEAD)
        if change.state not in EDITABLE_STATES:
            raise Conflict(f"{change.ref} is {change.state.value}")
        main = self._main()
        if self.repo.is_ancestor(main, change.head_commit):
            return change  # already up to date
        head = self.repo.merge(
            change.branch, change.head_commit, main, f"Update {change.ref} from {self.branch}", _author(user)
        )
        state = State.IN_REVIEW if change.state in (State.APPROVED, State.NEEDS_UPDATE) else change.state
        return self.records.transition(change, user.id, "update", state, head, f"merged {main[:12]}")

    def status(self, number: int) -> PolicyStatus:
        """What the policy on main requires for the changed files, what the head received, what is missing."""
        change = self.records.get(number)
        main = self._main()
        policy = parse_policy(self.repo.read(main, POLICY_FILE))
        changed = self.repo.changed_files(main, change.head_commit)
        required = policy.required(changed)
        received: dict[str, list[str]] = {}
        for review in self.records.reviews(number):
            counted = (
                review.role in required
                and review.verdict is Verdict.APPROVE
                and review.head_commit == change.head_commit
                and review.user != change.author
                and review.user not in received.get(review.role, [])
            )
            if counted:
                received.setdefault(review.role, []).append(review.user)
        missing = {
            r: n - len(received.get(r, [])) for r, n in required.items() if n > len(received.get(r, []))
        }
        return PolicyStatus(changed, required, received, missing)

    def awaiting(self, user: User, changes: list[ChangeRequest]) -> list[ChangeRequest]:
        """Those of changes in review, not by user, and still missing an approval of user's role."""
        return [
            c
            for c in changes
            if c.state is State.IN_REVIEW
            and c.author != user.name
            and user.role.value in self.status(c.number).missing
        ]

    def merge(self, user: User, number: int) -> ChangeRequest:
        """Merge into main with trailers while the policy is met and it merges cleanly; one at a time."""
        if not user.has_role(Role.LEAD):
            raise Forbidden("merging needs the role lead or admin")
        with self._merge_lock():
            change = self.records.get(number)
            if change.state is not State.APPROVED:
                raise Conflict(
                    f"{change.ref} is {change.state.value}; only an approved change request merges"
                )
            status = self.status(number)
            if not status.met:
                raise Conflict(f"the policy is not met: missing {status.missing}", status.as_json())
            main = self._main()
            try:
                merged = self.repo.merge(
                    self.branch, main, change.head_commit, self._message(change), _author(user)
                )
            except MergeConflict as exc:
                self.records.transition(
                    change, user.id, "merge_conflict", State.NEEDS_UPDATE, detail=str(exc.details)
                )
                raise
            return self.records.transition(
                change, user.id, "merge", State.MERGED, merged=merged, detail=merged
            )

    def reconcile(self) -> list[int]:
        """After a crash: open change requests whose merge is on main are marked merged (git is the truth)."""
        merged_on_main: dict[int, str] = {}
        for sha, parents, body in self.repo.first_parent_history(self.branch)[:500]:
            found = re.search(r"^Change-Request: CR-(\d+)$", body, re.M)
            if found and len(parents) > 1:
                merged_on_main.setdefault(int(found.group(1)), sha)
        fixed = []
        for change in self.records.find():
            if change.state in OPEN_STATES and change.number in merged_on_main:
                sha = merged_on_main[change.number]
                self.records.transition(
                    change, None, "reconcile", State.MERGED, merged=sha, detail="found on main"
                )
                fixed.append(change.number)
        return fixed

    def _message(self, change: ChangeRequest) -> str:
        status = self.status(change.number)
        approvers = {name for names in status.received.values() for name in names}
        lines = [f"Merge {change.ref}: {change.title}", "", f"Change-Request: {change.ref}"]
        seen: set[str] = set()
        for review in self.records.reviews(change.number):
            if review.user in approvers and review.verdict is Verdict.APPROVE and review.user not in seen:
                lines.append(f"Approved-by: {review.display_name} <{review.email}> ({review.role})")
                seen.add(review.user)
        for review in self.records.reviews(change.number):
            if review.user not in seen and review.user != change.author:
                lines.append(f"Reviewed-by: {review.display_name} <{review.email}> ({review.role})")
                seen.add(review.user)
        return "\n".join(lines) + "\n"

    def _settle(self, change: ChangeRequest, user: User) -> ChangeRequest:
        if change.state is State.IN_REVIEW and self.status(change.number).met:
            return self.records.transition(change, user.id, "policy_met", State.APPROVED)
        return change

    def _review(self, user: User, number: int, allow_states: set[State] = REVIEWABLE_STATES) -> ChangeRequest:
        change = self.records.get(number)
        if not user.has_role(Role.LEAD, Role.APPROVER):
            raise Forbidden("reviewing needs the role lead, approver or admin")
        if user.name == change.author:
            raise Forbidden("the author of a change request cannot review it")
        if change.state not in allow_states:
            raise Conflict(f"{change.ref} is {change.state.value}; it is not waiting for review")
        return change

    @staticmethod
    def _require_author_or(user: User, change: ChangeRequest, role: Role) -> None:
        if user.name != change.author and not user.has_role(role):
            raise Forbidden(f"only the author of {change.ref} or a {role.value} may do this")

    @contextmanager
    def _merge_lock(self) -> Iterator[None]:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # merges are serialized across threads and processes
            yield
