"""Which approvals count, and the merge message that records them.

An approval counts only from a reviewer who neither opened the change request nor wrote any commit of it,
whose account is still active, who still holds the role they approved as, and whose role the policy asks for.
The rules are applied afresh whenever they matter: on every view of the policy status, and at merge.
"""

from __future__ import annotations

from collections.abc import Iterable

from approval.model import ChangeRequest, Review, Verdict
from approval.trailers import Person, merge_message, same_email


def why_not_counted(
    review: Review, change: ChangeRequest, required: Iterable[str], authors: set[str], committers: set[str]
) -> str | None:
    """Why an approval of the head does not count (None when it does).

    authors are the author e-mails of the branch's commits (git); committers the users the audit log shows
    committing to it. Either one is enough to rule a reviewer out.
    """
    if review.user == change.author:
        return "opened the change request"
    if review.user in committers or any(same_email(review.email, e) for e in authors):
        return "wrote a commit in the change request"
    if review.disabled:
        return "the account is disabled"
    if review.current_role != review.role:
        return f"no longer holds the role {review.role}"
    if review.role not in required:
        return f"the policy asks no {review.role} approval here"
    return None


def count_approvals(
    change: ChangeRequest,
    required: Iterable[str],
    reviews: list[Review],
    authors: set[str],
    committers: set[str],
) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    """The approvals of the head that count, per role, and those that do not, each with its reason."""
    wanted = set(required)
    received: dict[str, list[str]] = {}
    not_counted: list[dict[str, str]] = []
    for review in reviews:
        if review.verdict is not Verdict.APPROVE or review.head_commit != change.head_commit:
            continue
        if any(review.user in names for names in received.values()):
            continue  # one approval per person
        reason = why_not_counted(review, change, wanted, authors, committers)
        if reason is None:
            received.setdefault(review.role, []).append(review.user)
        else:
            not_counted.append({"user": review.user, "role": review.role, "reason": reason})
    return received, not_counted


def signoff_message(
    change: ChangeRequest, received: dict[str, list[str]], reviews: list[Review], opener: Person
) -> str:
    """The merge message: the counted approvals as `Approved-by:`, other reviewers as `Reviewed-by:`."""
    counted = {name for names in received.values() for name in names}
    approvers: list[Person] = []
    reviewers: list[Person] = []
    seen: set[str] = set()
    for review in reviews:
        if review.user in counted and review.verdict is Verdict.APPROVE and review.user not in seen:
            approvers.append(Person(review.display_name, review.email, review.role))
            seen.add(review.user)
    for review in reviews:
        if review.user not in seen and review.user != change.author:
            reviewers.append(Person(review.display_name, review.email, review.role))
            seen.add(review.user)
    return merge_message(change.number, change.title, opener, approvers, reviewers)
