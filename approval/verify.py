"""`kb verify`: every commit on main must merge a change request that met the policy then in force."""

from __future__ import annotations

import re
from dataclasses import dataclass

from approval.policy import POLICY_FILE, parse_policy
from kbserver.repository import ContentRepository

_APPROVED = re.compile(r"^Approved-by: .+ \((\w+)\)$", re.M)
_CHANGE = re.compile(r"^Change-Request: (CR-\d+)$", re.M)


@dataclass(frozen=True)
class Violation:
    commit: str
    reason: str

    def __str__(self) -> str:
        return f"{self.commit[:12]}: {self.reason}"


def verify_history(repo: ContentRepository, revision: str) -> list[Violation]:
    """Violations in the first-parent history of revision (a branch, or a range like A..main)."""
    found = []
    for sha, parents, message in repo.first_parent_history(revision):
        if not parents:
            continue  # the seed commit that created the repository
        change = _CHANGE.search(message)
        if len(parents) < 2 or change is None:
            found.append(Violation(sha, "not the merge of a change request (committed around the workflow)"))
            continue
        policy = parse_policy(repo.read(parents[0], POLICY_FILE))
        required = policy.required(repo.changed_files(parents[0], parents[1]))
        approvals: dict[str, int] = {}
        for role in _APPROVED.findall(message):
            approvals[role] = approvals.get(role, 0) + 1
        missing = {r: n - approvals.get(r, 0) for r, n in required.items() if approvals.get(r, 0) < n}
        if missing:
            found.append(
                Violation(
                    sha, f"{change.group(1)} merged without the approvals the policy required: {missing}"
                )
            )
    return found
