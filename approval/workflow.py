"""The change-request workflow on git branches: propose, review, approve and merge with trailers.

It returns what changed (a new main commit after a merge); the caller reindexes and rebuilds the site.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from approval import recovery
from approval.branch import author_of, check_content_path
from approval.model import (
    EDITABLE_STATES,
    OPEN_STATES,
    REVIEWABLE_STATES,
    ChangeRequest,
    PolicyStatus,
    State,
    Verdict,
)
from approval.policy import POLICY_FILE, lint_policy, policy_in_force
from approval.records import ChangeRecords
from approval.signoff import count_approvals, signoff_message
from approval.trailers import Person, check_single_line, check_text, same_email
from kbserver.content.checks import former_ids, lint_change
from kbserver.content.slug import slug
from kbserver.errors import Conflict, Forbidden, InvalidInput
from kbserver.filelock import held
from kbserver.repository import ContentRepository, MergeConflict
from kbserver.users import Role, User

log = logging.getLogger(__name__)


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

    def _get(self, number: int) -> ChangeRequest:
        # Another replica may have written the branch: with an upstream, fetch first if it is not here yet.
        change = self.records.get(number)
        self.repo.current(change.branch, change.head_commit)
        return change

    def prepare(self) -> None:
        """Scan main's history for deleted ids now, so that the first submit is as fast as the next ones."""
        former_ids(self.repo, self._main())

    def create(self, user: User, title: str) -> ChangeRequest:
        """A new change request: a branch change/<n>-<slug> off main, in draft, under the next free number."""
        title = check_single_line(title.strip(), "title")
        if not 3 <= len(title) <= 200:
            raise InvalidInput("a change request needs a title of 3 to 200 characters")
        main = self._main()
        return self.records.insert(
            title,
            slug(title, "cambio", 40),  # the branch is change/<number>-<slug>
            user.id,
            main,
            lambda branch: recovery.claim_branch(self.repo, branch, main),
            lambda branch: recovery.drop_branch(self.repo, branch, main),
        )

    def write(
        self, user: User, number: int, changes: dict[str, bytes | None], expected_head: str, message: str
    ) -> ChangeRequest:
        """Commit writes (bytes) and deletions (None) on the branch, if its head is still expected_head."""
        change = self._get(number)
        self._require_author_or(user, change, Role.LEAD)
        if change.state not in EDITABLE_STATES:
            raise Conflict(f"{change.ref} is {change.state.value}; it can no longer be edited")
        if not changes:
            raise InvalidInput("nothing to commit: no file given")
        for path in changes:
            check_content_path(path)
        message = check_text(message, "the commit message")
        if expected_head != change.head_commit:
            raise Conflict(
                f"{change.ref} moved: expected {expected_head[:12]}, head is {change.head_commit[:12]}",
                {"head": change.head_commit},
            )
        try:
            head = self.repo.commit_files(
                change.branch, changes, message or f"Edit {change.ref}", author_of(user), expected_head
            )
        except Conflict:
            # The branch moved without the record (a process killed between the two): git is the truth.
            recovery.sync_head(self, self.records.get(number))
            raise
        # A new commit dismisses earlier approvals: an approved change request goes back to review.
        state = State.IN_REVIEW if change.state in (State.APPROVED, State.NEEDS_UPDATE) else change.state
        return self.records.transition(change, user.id, "commit", state, head, ", ".join(sorted(changes)))

    def submit(self, user: User, number: int) -> ChangeRequest:
        """Ask for review; refused while lint finds errors in the branch (the findings are in the error)."""
        change = self._get(number)
        self._require_author_or(user, change, Role.LEAD)
        if change.state not in (State.DRAFT, State.CHANGES_REQUESTED):
            raise Conflict(
                f"{change.ref} is {change.state.value}; only a draft or a returned change is submitted"
            )
        main = self._main()
        findings = lint_change(self.repo, main, change.head_commit)
        if POLICY_FILE in self.repo.changed_files(main, change.head_commit):
            findings += lint_policy(self.repo.read(change.head_commit, POLICY_FILE))
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
        if not check_text(body, "the comment").strip():
            raise InvalidInput("a comment needs text")
        self.records.add_review(change, user.id, user.role.value, Verdict.COMMENT, body)
        return self.records.transition(change, user.id, "comment", detail=body[:2000])

    def approve(self, user: User, number: int, body: str = "") -> ChangeRequest:
        """Approve the current head; it counts toward the user's own role only, never the author's or a
        committer's."""
        change = self._review(user, number, body)
        if not self.can_approve(user, change):
            raise Forbidden(
                f"you wrote commits in {change.ref}: an approval must come from someone who did not"
            )
        self.records.add_review(change, user.id, user.role.value, Verdict.APPROVE, body)
        change = self.records.transition(change, user.id, "approve", detail=f"as {user.role.value}")
        return self._settle(change, user)

    def request_changes(self, user: User, number: int, body: str) -> ChangeRequest:
        """Send the change request back to its author."""
        change = self._review(user, number, body)
        self.records.add_review(change, user.id, user.role.value, Verdict.REQUEST_CHANGES, body)
        return self.records.transition(
            change, user.id, "request_changes", State.CHANGES_REQUESTED, detail=body
        )

    def reject(self, user: User, number: int, body: str) -> ChangeRequest:
        """Close the change request for good."""
        change = self._review(user, number, body, allow_states=OPEN_STATES)
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
        change = self._get(number)
        self._require_author_or(user, change, Role.LEAD)
        if change.state not in EDITABLE_STATES:
            raise Conflict(f"{change.ref} is {change.state.value}")
        main = self._main()
        if self.repo.is_ancestor(main, change.head_commit):
            return change  # already up to date
        try:
            head = self.repo.merge(
                change.branch,
                change.head_commit,
                main,
                f"Update {change.ref} from {self.branch}",
                author_of(user),
            )
        except MergeConflict:
            raise
        except Conflict:
            recovery.sync_head(self, self.records.get(number))
            raise
        state = State.IN_REVIEW if change.state in (State.APPROVED, State.NEEDS_UPDATE) else change.state
        return self.records.transition(change, user.id, "update", state, head, f"merged {main[:12]}")

    def status(self, number: int) -> PolicyStatus:
        """What the policy on main requires for the changed files, which approvals of the head count (and why
        the others do not), and what is missing. Decided afresh each time: at merge, and for every view."""
        change = self._get(number)
        main = self._main()
        policy, problem = policy_in_force(self.repo.read(main, POLICY_FILE))
        changed = self.repo.changed_files(main, change.head_commit)
        required = policy.required(changed)
        authors = self.repo.author_emails(main, change.head_commit)
        reviews = self.records.reviews(number)
        received, not_counted = count_approvals(
            change, required, reviews, authors, self.records.committers(number)
        )
        missing = {
            r: n - len(received.get(r, [])) for r, n in required.items() if n > len(received.get(r, []))
        }
        return PolicyStatus(changed, required, received, missing, not_counted, problem)

    def awaiting(self, user: User, changes: list[ChangeRequest]) -> list[ChangeRequest]:
        """Those of changes in review, not by user, and still missing an approval of user's role."""
        return [
            c
            for c in changes
            if c.state is State.IN_REVIEW
            and self.can_approve(user, c)
            and user.role.value in self.status(c.number).missing
        ]

    def can_approve(self, user: User, change: ChangeRequest) -> bool:
        """Whether an approval by user could count: not the author, and no commit of theirs in the branch."""
        if change.author == user.name or user.name in self.records.committers(change.number):
            return False
        authors = self.repo.author_emails(self._main(), change.head_commit)
        return not any(same_email(user.email, e) for e in authors)

    def merge(self, user: User, number: int) -> ChangeRequest:
        """Merge into main with trailers while the policy is met and it merges cleanly; one at a time."""
        if not user.has_role(Role.LEAD):
            raise Forbidden("merging needs the role lead or admin")
        with self._merge_lock():
            started = time.monotonic()
            change = self._get(number)
            if change.state is not State.APPROVED:
                raise Conflict(
                    f"{change.ref} is {change.state.value}; only an approved change request merges"
                )
            if self.repo.head(change.branch) != change.head_commit:
                recovery.sync_head(self, change)
                raise Conflict(
                    f"{change.ref}: its branch moved since it was approved; it goes back to review"
                )
            status = self.status(number)
            if not status.met:
                raise Conflict(f"the policy is not met: missing {status.missing}", status.as_json())
            main = self._main()
            try:
                if POLICY_FILE in status.changed:
                    self._check_merged_policy(main, change)
                merged = self.repo.merge(
                    self.branch, main, change.head_commit, self._message(change, status), author_of(user)
                )
            except MergeConflict as exc:
                self.records.transition(
                    change, user.id, "merge_conflict", State.NEEDS_UPDATE, detail=str(exc.details)
                )
                raise
            done = self.records.transition(
                change, user.id, "merge", State.MERGED, merged=merged, detail=merged
            )
            seconds = time.monotonic() - started
            log.info(
                "merge: %s merged into %s as %s by %s (%.2f s)",
                change.ref,
                self.branch,
                merged[:12],
                user.name,
                seconds,
                extra={"change_request": change.number, "commit": merged, "seconds": round(seconds, 3)},
            )
            return done

    def reconcile(self) -> list[int]:
        """At start-up, git is the truth: open change requests whose merge is on main are marked merged (their
        numbers are returned), branch heads the store lost are recorded, and branches of creations that never
        completed are removed. Each fix is an audit event."""
        merged = recovery.record_merges(self)
        recovery.sync_heads(self)
        recovery.drop_orphan_branches(self)
        return merged

    def _check_merged_policy(self, main: str, change: ChangeRequest) -> None:
        # Never let a policy main could not read reach main: lint the file as the merge would leave it.
        findings = lint_policy(self.repo.merged_file(main, change.head_commit, POLICY_FILE))
        if findings:
            raise InvalidInput(
                f"{change.ref} would leave an invalid {POLICY_FILE} on {self.branch}",
                {"findings": [f.as_json() for f in findings]},
            )

    def _message(self, change: ChangeRequest, status: PolicyStatus | None = None) -> str:
        received = (status or self.status(change.number)).received
        opener = Person(*self.records.person(change.author))
        return signoff_message(change, received, self.records.reviews(change.number), opener)

    def _settle(self, change: ChangeRequest, user: User) -> ChangeRequest:
        if change.state is State.IN_REVIEW and self.status(change.number).met:
            return self.records.transition(change, user.id, "policy_met", State.APPROVED)
        return change

    def _review(
        self, user: User, number: int, body: str, allow_states: set[State] = REVIEWABLE_STATES
    ) -> ChangeRequest:
        change = self._get(number)
        if not user.has_role(Role.LEAD, Role.APPROVER):
            raise Forbidden("reviewing needs the role lead, approver or admin")
        if user.name == change.author:
            raise Forbidden("the author of a change request cannot review it")
        if change.state not in allow_states:
            raise Conflict(f"{change.ref} is {change.state.value}; it is not waiting for review")
        check_text(body, "the review")
        return change

    @staticmethod
    def _require_author_or(user: User, change: ChangeRequest, role: Role) -> None:
        if user.name != change.author and not user.has_role(role):
            raise Forbidden(f"only the author of {change.ref} or a {role.value} may do this")

    @contextmanager
    def _merge_lock(self) -> Iterator[None]:
        # Merges are serialized across threads and processes by a file lock, and across replicas by a
        # PostgreSQL advisory lock; the upstream push's compare-and-swap is the final guard.
        with held(self.lock_path), self.records.merge_lock():
            self.repo.fetch()  # main as the upstream has it now, if there is one
            yield
