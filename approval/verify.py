"""`kb verify`: every commit on main must merge a change request that met the policy then in force.

What it proves from git alone, for each commit in the first-parent history:

- it is a merge (two parents) whose final trailer block (git's own trailer rules: the last paragraph, made of
  trailers) names exactly one change request, and no earlier merge in the range named the same one;
- the `Approved-by:` trailers of that block meet the policy that was on the first parent (or, if that policy
  could not be read, the hard minimum), counting each e-mail once and only toward the role it names;
- no counted approver authored a commit that the merge brought in (the second parent's commits that the first
  parent lacks: the change request's base..head), nor opened the change request (`Opened-by:`);
- if the change request's branch `change/<n>-...` is still in the repository, it points at the second parent:
  what was merged is the branch's head. A copy without the branches cannot prove this; nor can git alone prove
  who typed a trailer, since whoever can write to main can write any message. Signatures would be needed for
  that; the state store is the other witness.

With the state store it also proves that the change request's recorded head is the second parent (and, once
merged, that the recorded merge is this commit), and that each counted approval is a recorded approval of that
head by the user with that e-mail, who opened none of it and who is, now, active and still holds the role. The
store keeps no history of accounts, so an approver disabled after the merge is reported too: verify a range
(`kb verify A..main`) to judge only the merges since A.
"""

from __future__ import annotations

from dataclasses import dataclass

from approval.model import ChangeRequest, Review, State, Verdict
from approval.policy import POLICY_FILE, policy_in_force
from approval.records import ChangeRecords
from approval.trailers import MergeTrailers, Person, ident_email, read_merge, same_email
from kbserver.errors import NotFound
from kbserver.repository import ContentRepository


@dataclass(frozen=True)
class Violation:
    commit: str
    reason: str

    def __str__(self) -> str:
        return f"{self.commit[:12]}: {self.reason}"


def _branch_tips(repo: ContentRepository) -> dict[int, set[str]]:
    tips: dict[int, set[str]] = {}
    for name, tip in repo.branches("change/").items():
        number = name.removeprefix("change/").split("-", 1)[0]
        if number.isdigit():
            tips.setdefault(int(number), set()).add(tip)
    return tips


def _why_not(
    approval: Person,
    authors: set[str],
    opener: str,
    change: ChangeRequest | None,
    reviews: list[Review],
    head: str,
) -> str | None:
    """Why an Approved-by trailer does not count; None when it does."""
    if any(same_email(approval.email, e) for e in authors):
        return "authored a commit of the change"
    if opener and same_email(approval.email, opener):
        return "opened the change request"
    if change is None:
        return None
    backing = [
        r
        for r in reviews
        if r.verdict is Verdict.APPROVE
        and r.head_commit == head
        and r.role == approval.role
        and same_email(r.email, approval.email)
    ]
    if not backing:
        return "no such approval of this head is recorded"
    review = backing[0]
    if review.user == change.author:
        return "opened the change request"
    if review.disabled:
        return "the account is disabled"
    if review.current_role != review.role:
        return f"no longer holds the role {review.role}"
    return None


def judge_approvals(
    merge: MergeTrailers,
    head: str,
    authors: set[str],
    opener: str,
    change: ChangeRequest | None,
    reviews: list[Review],
) -> list[tuple[Person, str | None]]:
    """Each Approved-by trailer of a merge (each e-mail once), with why it does not count (None: it does)."""
    judged: list[tuple[Person, str | None]] = []
    counted: set[str] = set()
    for approval in merge.approvals:
        key = ident_email(approval.email).lower()
        if key in counted:
            continue
        why = _why_not(approval, authors, opener, change, reviews, head)
        if why is None:
            counted.add(key)
        judged.append((approval, why))
    return judged


def _check_merge(
    repo: ContentRepository,
    records: ChangeRecords | None,
    sha: str,
    parents: list[str],
    merge: MergeTrailers,
    tips: dict[int, set[str]],
) -> list[str]:
    base, head = parents
    ref = f"CR-{merge.number}"
    problems = []
    if merge.number in tips and head not in tips[merge.number]:
        problems.append(
            f"{ref}: the merged commit {head[:12]} is not the head of the change request's branch"
        )
    change: ChangeRequest | None = None
    reviews: list[Review] = []
    opener = merge.opener.email if merge.opener else ""
    if records is not None:
        try:
            change = records.get(merge.number)
        except NotFound:
            return [f"{ref} is not in the state store"]
        reviews = records.reviews(merge.number)
        opener = records.person(change.author)[1]
        if change.head_commit != head:
            problems.append(f"{ref}: the merged commit {head[:12]} is not its recorded head")
        if change.state is State.MERGED and change.merged_commit != sha:
            problems.append(f"{ref} is recorded as merged by {str(change.merged_commit)[:12]}")
    policy, _problem = policy_in_force(repo.read(base, POLICY_FILE))
    required = policy.required(repo.changed_files(base, head))
    approvals: dict[str, int] = {}
    refused = []
    for approval, why in judge_approvals(
        merge, head, repo.author_emails(base, head), opener, change, reviews
    ):
        if why:
            refused.append(f"{approval.trailer_value()}: {why}")
        else:
            approvals[approval.role] = approvals.get(approval.role, 0) + 1
    missing = {r: n - approvals.get(r, 0) for r, n in required.items() if approvals.get(r, 0) < n}
    if missing:
        detail = f"; not counted: {'; '.join(refused)}" if refused else ""
        problems.append(f"{ref} merged without the approvals the policy required: {missing}{detail}")
    return problems


def verify_history(
    repo: ContentRepository, revision: str, records: ChangeRecords | None = None
) -> list[Violation]:
    """Violations in the first-parent history of revision (a branch, or a range like A..main), newest first;
    with records, also checked against the state store."""
    found: list[Violation] = []
    merged_by: dict[int, str] = {}
    tips = _branch_tips(repo)
    for sha, parents, trailers in reversed(repo.trailer_history(revision)):
        if not parents:
            continue  # the seed commit that created the repository
        merge = read_merge(trailers)
        if len(parents) != 2 or merge is None:
            found.append(Violation(sha, "not the merge of a change request (committed around the workflow)"))
            continue
        if merge.number in merged_by:
            found.append(
                Violation(sha, f"CR-{merge.number} was already merged by {merged_by[merge.number][:12]}")
            )
            continue
        merged_by[merge.number] = sha
        found += [Violation(sha, p) for p in _check_merge(repo, records, sha, parents, merge, tips)]
    return found[::-1]
