"""An invalid `approvals.yml` (issue 11, item 6) never reaches main through the workflow, and one that gets
there around it does not jam the workflow: the hard minimum applies, and every change request says why."""

from __future__ import annotations

import pytest

from approval.model import State
from kbserver.errors import InvalidInput
from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from tests.approval.conftest import propose

KB = "docs/kb/red-vpn/vpn-lenta.md"
BROKEN = b"rules:\n  - paths: ['docs/**']\n    approvals: {lead: one}\n"


def _policy_change(services: Services, text: bytes) -> int:
    flow, lead1 = services.workflow, services.users.get("lead1")
    change = flow.create(lead1, "Cambiar la política")
    flow.write(lead1, change.number, {"approvals.yml": text}, change.head_commit, "policy")
    return change.number


def test_submit_lints_the_policy_file_and_refuses_it(store_services: Services) -> None:
    n = _policy_change(store_services, BROKEN)
    with pytest.raises(InvalidInput) as refused:
        store_services.workflow.submit(store_services.users.get("lead1"), n)
    [finding] = refused.value.details["findings"]
    assert (finding["path"], finding["line"], finding["rule"]) == ("approvals.yml", 2, "approval-policy")
    assert "'lead': 'one'" in finding["message"]
    assert store_services.workflow.records.get(n).state is State.DRAFT


def test_a_policy_broken_after_submit_is_refused_at_merge(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    good = (
        store_services.repository.read(store_services.main_commit() or "", "approvals.yml") or b""
    ) + b"\n"
    n = _policy_change(store_services, good)
    flow.submit(get("lead1"), n)
    head = flow.records.get(n).head_commit
    flow.write(get("lead1"), n, {"approvals.yml": BROKEN}, head, "break it while in review")
    for name in ("admin1", "appr1"):
        flow.approve(get(name), n)
    main = store_services.main_commit()
    with pytest.raises(InvalidInput, match=r"invalid approvals\.yml"):
        flow.merge(get("lead1"), n)
    assert store_services.main_commit() == main


def test_a_broken_policy_on_main_applies_the_hard_minimum_and_says_why(store_services: Services) -> None:
    flow, repo, get = store_services.workflow, store_services.repository, store_services.users.get
    repo.commit_files(
        "main", {"approvals.yml": BROKEN}, "around the workflow", SERVICE_AUTHOR, repo.head("main")
    )
    n = propose(store_services, "lead1", "Sigue funcionando", KB, b"\nSi.\n")
    status = flow.status(n)
    assert status.required == {"admin": 1, "approver": 1}
    assert (
        status.problem
        and "approvals.yml:2" in status.problem
        and "admin and a client approver" in status.problem
    )
    assert status.as_json()["problem"] == status.problem
    flow.submit(get("lead1"), n)
    flow.approve(get("lead2"), n)
    assert flow.records.get(n).state is State.IN_REVIEW  # a lead no longer suffices
    flow.approve(get("admin1"), n)
    flow.approve(get("appr1"), n)
    assert flow.merge(get("lead1"), n).state is State.MERGED
    # The way out is an ordinary change request that fixes the file, under the same minimum.
    fix = _policy_change(store_services, b"rules: []\ndefault: {lead: 1}\n")
    flow.submit(get("lead1"), fix)
    for name in ("admin1", "appr1"):
        flow.approve(get(name), fix)
    flow.merge(get("lead1"), fix)
    assert flow.status(n).problem is None
