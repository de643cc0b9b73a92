"""The change-request workflow on a real git repository and a real state store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from approval.model import State
from approval.records import ChangeRecords
from approval.verify import verify_history
from approval.workflow import Workflow
from kbserver.errors import Conflict, Forbidden, InvalidInput
from kbserver.repository import SERVICE_AUTHOR, MergeConflict
from kbserver.services import Services
from kbserver.users import User

PASSWORD = "workflow-password"
KB = "docs/kb/red-vpn/vpn-lenta.md"
SCRIPT = "docs/scripts/cierre-encuesta.md"
PROC = "docs/procedures/06-calidad.md"


@pytest.fixture
def flow(services: Services) -> Iterator[Workflow]:
    for name, role in [
        ("lead1", "lead"),
        ("lead2", "lead"),
        ("appr1", "approver"),
        ("oper1", "operator"),
        ("admin1", "admin"),
    ]:
        services.users.add(name, role, PASSWORD, display_name=name.title(), email=f"{name}@desk.example")
    yield Workflow(
        ChangeRecords(services.engine), services.repository, services.settings.data_dir / "merge.lock"
    )


def user(flow: Workflow, name: str, services: Services) -> User:
    return services.users.get(name)


def edit(flow: Workflow, who: User, title: str, path: str, extra: bytes) -> int:
    change = flow.create(who, title)
    main = flow.repo.head("main")
    assert main
    text = flow.repo.read(main, path)
    assert text is not None
    flow.write(who, change.number, {path: text + extra}, change.head_commit, "edit")
    return change.number


def test_kb_article_needs_another_lead(flow: Workflow, services: Services) -> None:
    lead1, lead2, appr = (services.users.get(n) for n in ("lead1", "lead2", "appr1"))
    n = edit(flow, lead1, "Aclarar VPN lenta", KB, b"\nNuevo consejo.\n")
    flow.submit(lead1, n)
    with pytest.raises(Forbidden, match="author"):
        flow.approve(lead1, n)  # self-approval denied
    flow.approve(appr, n)  # wrong role: recorded, not counted
    assert flow.status(n).missing == {"lead": 1}
    with pytest.raises(Conflict, match="in_review"):
        flow.merge(lead1, n)  # merge refused until the policy is met
    flow.approve(lead2, n)
    assert flow.records.get(n).state is State.APPROVED
    merged = flow.merge(lead1, n)
    assert merged.state is State.MERGED and flow.repo.head("main") == merged.merged_commit
    message = flow.repo.first_parent_history("main")[0][2]
    assert f"Change-Request: CR-{n}" in message
    assert "Approved-by: Lead2 <lead2@desk.example> (lead)" in message
    assert "Reviewed-by: Appr1 <appr1@desk.example> (approver)" in message
    assert verify_history(flow.repo, "main") == []


def test_script_needs_lead_and_approver_and_a_new_commit_dismisses(
    flow: Workflow, services: Services
) -> None:
    lead1, lead2, appr = (services.users.get(n) for n in ("lead1", "lead2", "appr1"))
    n = edit(flow, lead1, "Encuesta más corta", SCRIPT, b"\nGracias.\n")
    flow.submit(lead1, n)
    flow.approve(lead2, n)
    flow.approve(appr, n)
    change = flow.records.get(n)
    assert change.state is State.APPROVED
    text = flow.repo.read(change.head_commit, SCRIPT)
    assert text
    flow.write(lead1, n, {SCRIPT: text + "\nOtra línea.\n".encode()}, change.head_commit, "more")
    assert flow.records.get(n).state is State.IN_REVIEW
    assert flow.status(n).missing == {"lead": 1, "approver": 1}


def test_procedure_needs_a_client_approver(flow: Workflow, services: Services) -> None:
    lead1, lead2, appr = (services.users.get(n) for n in ("lead1", "lead2", "appr1"))
    n = edit(flow, lead1, "Calidad: tiempos", PROC, b"\nNuevo objetivo.\n")
    flow.submit(lead1, n)
    flow.approve(lead2, n)
    assert flow.status(n).missing == {"approver": 1}
    flow.approve(appr, n)
    assert flow.merge(lead1, n).state is State.MERGED


def test_policy_change_on_a_branch_does_not_apply_to_itself(flow: Workflow, services: Services) -> None:
    lead1, lead2, admin, appr = (services.users.get(n) for n in ("lead1", "lead2", "admin1", "appr1"))
    change = flow.create(lead1, "Relajar la política")
    weak = b"rules:\n  - paths: ['**']\n    approvals: {lead: 0}\ndefault: {}\n"
    main = flow.repo.head("main") or ""
    proc = flow.repo.read(main, PROC) or b""
    flow.write(
        lead1, change.number, {"approvals.yml": weak, PROC: proc + b"\nX.\n"}, change.head_commit, "policy"
    )
    flow.submit(lead1, change.number)
    status = flow.status(change.number)
    assert status.required == {"admin": 1, "approver": 1}  # main's rules, not the branch's weaker ones
    flow.approve(lead2, change.number)
    assert not flow.status(change.number).met
    flow.approve(admin, change.number)
    flow.approve(appr, change.number)
    assert flow.merge(lead1, change.number).state is State.MERGED


def test_operator_cannot_review_or_merge(flow: Workflow, services: Services) -> None:
    lead1, oper = services.users.get("lead1"), services.users.get("oper1")
    n = edit(flow, lead1, "Cambio menor", KB, b"\nX.\n")
    flow.submit(lead1, n)
    with pytest.raises(Forbidden):
        flow.approve(oper, n)
    with pytest.raises(Forbidden):
        flow.merge(oper, n)
    proposal = flow.create(oper, "Propuesta de operador")  # any user may propose
    assert proposal.author == "oper1"


def test_stale_head_on_write_is_a_conflict(flow: Workflow, services: Services) -> None:
    lead1 = services.users.get("lead1")
    change = flow.create(lead1, "Dos editores")
    text = flow.repo.read(change.head_commit, KB) or b""
    flow.write(lead1, change.number, {KB: text + b"A\n"}, change.head_commit, "first")
    with pytest.raises(Conflict) as stale:
        flow.write(lead1, change.number, {KB: text + b"B\n"}, change.head_commit, "second")
    assert stale.value.details == {"head": flow.records.get(change.number).head_commit}
    assert b"A\n" in (flow.repo.read(flow.records.get(change.number).head_commit, KB) or b"")


def test_submit_is_refused_while_lint_finds_errors(flow: Workflow, services: Services) -> None:
    lead1 = services.users.get("lead1")
    change = flow.create(lead1, "Enlace roto")
    text = flow.repo.read(change.head_commit, KB) or b""
    flow.write(lead1, change.number, {KB: text + b"\n[roto](no-existe.md)\n"}, change.head_commit, "broken")
    with pytest.raises(InvalidInput) as refused:
        flow.submit(lead1, change.number)
    assert refused.value.details["findings"][0]["rule"] == "broken-link"
    assert flow.records.get(change.number).state is State.DRAFT


def test_conflict_then_update_then_merge(flow: Workflow, services: Services) -> None:
    lead1, lead2 = services.users.get("lead1"), services.users.get("lead2")
    n = edit(flow, lead1, "Cambio A", KB, b"\nLinea de A.\n")
    flow.submit(lead1, n)
    flow.approve(lead2, n)
    main = flow.repo.head("main") or ""
    text = flow.repo.read(main, KB) or b""
    flow.repo.commit_files("main", {KB: text + b"\nLinea de main.\n"}, "around", SERVICE_AUTHOR, main)
    with pytest.raises(MergeConflict) as conflict:
        flow.merge(lead1, n)
    assert conflict.value.details == {"files": [KB]}
    assert flow.records.get(n).state is State.NEEDS_UPDATE
    with pytest.raises(MergeConflict):
        flow.update(lead1, n)
    head = flow.records.get(n).head_commit
    main_text = flow.repo.read(flow.repo.head("main") or "", KB) or b""
    # The author resolves: main's text, with their line moved away from main's edit; then updates again.
    resolved = main_text.replace(b"\n## Causas habituales", b"\nLinea de A.\n\n## Causas habituales")
    assert resolved != main_text
    flow.write(lead1, n, {KB: resolved}, head, "resolve")
    updated = flow.update(lead1, n)
    assert updated.state is State.IN_REVIEW
    flow.approve(lead2, n)
    assert flow.merge(lead1, n).state is State.MERGED


def test_two_concurrent_merges_both_land(flow: Workflow, services: Services) -> None:
    lead1, lead2 = services.users.get("lead1"), services.users.get("lead2")
    a = edit(flow, lead1, "Cambio uno", KB, b"\nUno.\n")
    b = edit(flow, lead1, "Cambio dos", "docs/kb/correo/buzon-lleno.md", b"\nDos.\n")
    for n in (a, b):
        flow.submit(lead1, n)
        flow.approve(lead2, n)
    errors: list[BaseException] = []

    def merge(n: int) -> None:
        try:
            flow.merge(lead1, n)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(n,)) for n in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    heads = [flow.records.get(n).head_commit for n in (a, b)]
    assert all(flow.repo.is_ancestor(h, "main") for h in heads)
    assert len(flow.repo.first_parent_history("main")) == 3  # seed + two merges


def test_verify_flags_a_commit_around_the_workflow(flow: Workflow, services: Services) -> None:
    main = flow.repo.head("main") or ""
    sneaky = flow.repo.commit_files("main", {KB: b"hack\n"}, "direct push", SERVICE_AUTHOR, main)
    violations = verify_history(flow.repo, "main")
    assert [v.commit for v in violations] == [sneaky]
    assert "around the workflow" in violations[0].reason


def test_reconcile_after_a_crash_between_git_and_the_store(flow: Workflow, services: Services) -> None:
    lead1, lead2 = services.users.get("lead1"), services.users.get("lead2")
    n = edit(flow, lead1, "Cambio interrumpido", KB, b"\nZ.\n")
    flow.submit(lead1, n)
    flow.approve(lead2, n)
    change = flow.records.get(n)
    # The merge commit lands on main, then the process dies before the state store is updated.
    flow.repo.merge(
        "main", flow.repo.head("main") or "", change.head_commit, flow._message(change), SERVICE_AUTHOR
    )
    assert flow.records.get(n).state is State.APPROVED
    assert flow.reconcile() == [n]
    assert flow.records.get(n).state is State.MERGED
    assert flow.records.events(n)[-1]["action"] == "reconcile"


def test_audit_log_records_every_transition(flow: Workflow, services: Services, tmp_path: Path) -> None:
    lead1, lead2 = services.users.get("lead1"), services.users.get("lead2")
    n = edit(flow, lead1, "Registro", KB, b"\nR.\n")
    flow.comment(lead2, n, "¿Por qué?")
    flow.submit(lead1, n)
    flow.approve(lead2, n)
    flow.merge(lead1, n)
    actions = [(e["user"], e["action"], e["to_state"]) for e in flow.records.events(n)]
    assert actions == [
        ("lead1", "create", "draft"),
        ("lead1", "commit", "draft"),
        ("lead2", "comment", None),
        ("lead1", "submit", "in_review"),
        ("lead2", "approve", None),
        ("lead2", "policy_met", "approved"),
        ("lead1", "merge", "merged"),
    ]
