"""Four-eyes (issue 11, item 4): an approval counts only from someone who neither opened nor wrote the change,
who is still active and still holds the role; decided again at merge and by `kb verify`."""

from __future__ import annotations

import pytest

from approval.model import State, Verdict
from approval.verify import verify_history
from kbserver.errors import Conflict, Forbidden
from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from kbserver.store.schema import users
from tests.approval.conftest import add_to, propose

KB = "docs/kb/red-vpn/vpn-lenta.md"
PROC = "docs/procedures/06-calidad.md"


def test_a_lead_who_commits_into_a_change_cannot_approve_it(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Aclarar VPN lenta", KB, b"\nConsejo de lead1.\n")
    add_to(store_services, n, "lead2", KB, b"\nTexto que nadie revisa.\n")
    flow.submit(get("lead1"), n)
    with pytest.raises(Forbidden, match="wrote commits"):
        flow.approve(get("lead2"), n)
    assert flow.records.get(n).state is State.IN_REVIEW
    with pytest.raises(Conflict):
        flow.merge(get("lead2"), n)
    assert flow.awaiting(get("lead2"), flow.records.find()) == []
    assert [c.number for c in flow.awaiting(get("lead3"), flow.records.find())] == [n]
    flow.approve(get("lead3"), n)  # a third lead, who wrote nothing, signs off
    merged = flow.merge(get("lead2"), n)
    message = store_services.repository.first_parent_history("main")[0][2]
    assert "Approved-by: Lead3 <lead3@desk.example> (lead)" in message
    assert "Approved-by: Lead2" not in message
    assert merged.state is State.MERGED
    assert verify_history(flow.repo, "main") == []
    assert verify_history(flow.repo, "main", flow.records) == []


def test_a_co_author_named_in_a_commit_cannot_approve_it(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Aclarar VPN lenta", KB, b"\nConsejo de lead1.\n")
    change = flow.records.get(n)
    text = store_services.repository.read(change.head_commit, KB) or b""
    message = "Paso escrito a dos manos\n\nCo-authored-by: Lead2 <LEAD2@desk.example>"
    flow.write(get("lead1"), n, {KB: text + b"\nPaso de lead2.\n"}, change.head_commit, message)
    flow.submit(get("lead1"), n)
    with pytest.raises(Forbidden, match="wrote commits"):
        flow.approve(get("lead2"), n)  # the co-author, by the e-mail in the trailer (any case)
    flow.approve(get("lead3"), n)
    assert flow.merge(get("lead1"), n).state is State.MERGED
    assert verify_history(flow.repo, "main") == []


def test_an_approval_recorded_by_a_committer_does_not_count_at_merge(store_services: Services) -> None:
    """An approval stored before the rule existed (or by any other path) is judged again at merge."""
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Cambio compartido", KB, b"\nUno.\n")
    add_to(store_services, n, "lead2", KB, b"\nDos.\n")
    flow.submit(get("lead1"), n)
    change = flow.records.get(n)
    flow.records.add_review(change, get("lead2").id, "lead", Verdict.APPROVE, "")
    flow.records.transition(change, get("lead2").id, "policy_met", State.APPROVED)
    status = flow.status(n)
    assert status.missing == {"lead": 1}
    assert status.not_counted == [
        {"user": "lead2", "role": "lead", "reason": "wrote a commit in the change request"}
    ]
    with pytest.raises(Conflict, match="policy is not met"):
        flow.merge(get("lead2"), n)
    assert flow.repo.head("main") == change.base_commit


def test_an_approver_disabled_since_no_longer_counts(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Calidad: objetivo", PROC, b"\nObjetivo nuevo.\n")
    flow.submit(get("lead1"), n)
    flow.approve(get("appr1"), n)
    assert flow.records.get(n).state is State.APPROVED
    store_services.users.disable("appr1")
    with pytest.raises(Conflict, match="policy is not met"):
        flow.merge(get("lead1"), n)
    assert flow.status(n).not_counted == [
        {"user": "appr1", "role": "approver", "reason": "the account is disabled"}
    ]
    flow.approve(get("appr2"), n)
    assert flow.merge(get("lead1"), n).state is State.MERGED


def test_an_approver_who_lost_the_role_no_longer_counts(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Calidad: tiempos", PROC, b"\nTiempos.\n")
    flow.submit(get("lead1"), n)
    flow.approve(get("appr1"), n)
    with store_services.engine.begin() as conn:
        conn.execute(users.update().where(users.c.name == "appr1").values(role="operator"))
    assert flow.status(n).missing == {"approver": 1}
    with pytest.raises(Conflict, match="policy is not met"):
        flow.merge(get("lead1"), n)
    assert flow.status(n).not_counted[0]["reason"] == "no longer holds the role approver"


def test_verify_does_not_count_an_approver_who_wrote_part_of_the_merge(store_services: Services) -> None:
    """A merge made around the workflow that names a co-author as approver: git alone shows the co-author."""
    flow, repo = store_services.workflow, store_services.repository
    n = propose(store_services, "lead1", "Cambio de dos", KB, b"\nUno.\n")
    head = add_to(store_services, n, "lead2", KB, b"\nDos.\n")
    message = (
        f"Merge CR-{n}: Cambio de dos\n\nChange-Request: CR-{n}\n"
        "Approved-by: Lead2 <lead2@desk.example> (lead)\n"
    )
    sha = repo.merge("main", repo.head("main") or "", head, message, SERVICE_AUTHOR)
    [violation] = verify_history(repo, "main")
    assert violation.commit == sha
    assert "Lead2 <lead2@desk.example> (lead): authored a commit of the change" in violation.reason
    assert "missing" not in violation.reason and "{'lead': 1}" in violation.reason
    assert [v.commit for v in verify_history(repo, "main", flow.records)] == [sha]


def test_verify_does_not_count_the_opener(store_services: Services) -> None:
    repo = store_services.repository
    n = propose(store_services, "lead1", "Sin revisión", KB, b"\nUno.\n")
    head = store_services.workflow.records.get(n).head_commit
    # lead1's own commit is in the branch, so use an Opened-by that names an approver who wrote nothing.
    message = (
        f"Merge CR-{n}: Sin revisión\n\nChange-Request: CR-{n}\nOpened-by: Lead3 <lead3@desk.example>\n"
        "Approved-by: Lead3 <lead3@desk.example> (lead)\n"
    )
    repo.merge("main", repo.head("main") or "", head, message, SERVICE_AUTHOR)
    [violation] = verify_history(repo, "main")
    assert "opened the change request" in violation.reason


def test_verify_with_the_store_reports_approvals_that_no_longer_count(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Calidad: cierre", PROC, b"\nCierre.\n")
    flow.submit(get("lead1"), n)
    flow.approve(get("appr1"), n)
    merged = flow.merge(get("lead1"), n)
    assert verify_history(flow.repo, "main", flow.records) == []
    store_services.users.disable("appr1")
    [violation] = verify_history(flow.repo, "main", flow.records)
    assert violation.commit == merged.merged_commit
    assert "the account is disabled" in violation.reason
    assert verify_history(flow.repo, "main") == []  # git alone cannot know


def test_verify_with_the_store_refuses_an_approval_nobody_recorded(store_services: Services) -> None:
    flow, repo = store_services.workflow, store_services.repository
    n = propose(store_services, "lead1", "Calidad: atajo", PROC, b"\nAtajo.\n")
    head = flow.records.get(n).head_commit
    message = (
        f"Merge CR-{n}: x\n\nChange-Request: CR-{n}\nApproved-by: Appr1 <appr1@desk.example> (approver)\n"
    )
    repo.merge("main", repo.head("main") or "", head, message, SERVICE_AUTHOR)
    assert verify_history(repo, "main") == []  # well-formed, and git cannot tell who typed it
    [violation] = verify_history(repo, "main", flow.records)
    assert "no such approval of this head is recorded" in violation.reason


def test_an_author_who_changed_e_mail_is_still_a_committer(store_services: Services) -> None:
    """The audit log names committers too, whatever e-mail git recorded."""
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Cambio", KB, b"\nUno.\n")
    add_to(store_services, n, "lead2", KB, b"\nDos.\n")
    with store_services.engine.begin() as conn:
        conn.execute(users.update().where(users.c.name == "lead2").values(email="otro@desk.example"))
    flow.submit(get("lead1"), n)
    with pytest.raises(Forbidden):
        flow.approve(get("lead2"), n)


def test_update_merge_authors_count_as_committers(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Cambio A", KB, b"\nA.\n")
    main = flow.repo.head("main") or ""
    other = "docs/kb/correo/buzon-lleno.md"
    flow.repo.commit_files("main", {other: b"main moved\n"}, "around", SERVICE_AUTHOR, main)
    flow.update(get("lead2"), n)  # lead2 authors the update merge on the branch
    flow.submit(get("lead1"), n)
    with pytest.raises(Forbidden):
        flow.approve(get("lead2"), n)
