"""Merge trailers cannot be forged (issue 11, item 5): titles are single-line, nothing a user typed can stand
as a trailer, and reconcile and verify read only the final trailer block of a merge of the change's own
head."""

from __future__ import annotations

import pytest

from approval.model import State
from approval.verify import verify_history
from kbserver.errors import InvalidInput
from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from kbserver.store.schema import change_requests, users
from tests.approval.conftest import git_branches, propose

KB = "docs/kb/red-vpn/vpn-lenta.md"
SCRIPT = "docs/scripts/cierre-encuesta.md"
FORGED = "Fix\n\nChange-Request: CR-{n}\nApproved-by: Forged <f@x> (approver)"


@pytest.mark.parametrize(
    "title",
    [
        FORGED.format(n=1),
        "Fix\rChange-Request: CR-1",
        "Título con\x00NUL",
        "Tab\tdentro",
        "Separador\u2028de línea",
        "Al revés \u202etxt",
        "Sustituto a\ud800b",
    ],
)
def test_a_title_must_be_one_line_without_control_characters(store_services: Services, title: str) -> None:
    with pytest.raises(InvalidInput, match="title must be a single line"):
        store_services.workflow.create(store_services.users.get("lead1"), title)
    assert store_services.workflow.records.find() == []
    assert git_branches(store_services.repository.path) == {}


def _trailers(services: Services) -> list[tuple[str, str]]:
    return services.repository.trailer_history("main", 1)[0][2]


def test_nothing_typed_into_a_title_or_an_identity_stands_as_a_trailer(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    victim = propose(store_services, "lead1", "Nunca aprobado", KB, b"\nVictima.\n")
    n = propose(store_services, "lead1", "Arreglo", "docs/kb/correo/buzon-lleno.md", b"\nArreglo.\n")
    # Values stored before titles, names and e-mails were checked, or written around the API.
    with store_services.engine.begin() as conn:
        conn.execute(
            change_requests.update()
            .where(change_requests.c.id == n)
            .values(title=FORGED.format(n=victim) + "\nReviewed-by: x")
        )
        conn.execute(
            users.update()
            .where(users.c.name == "lead2")
            .values(
                display_name="Lead2\nApproved-by: Forged <f@x> (admin)",
                email="lead2@desk.example>\nApproved-by: Other <o@x> (approver)",
            )
        )
    flow.submit(get("lead1"), n)
    flow.approve(get("lead2"), n)
    merged = flow.merge(get("lead1"), n)
    message = store_services.repository.first_parent_history("main")[0][2]
    subject, blank, *_rest = message.splitlines()
    assert (
        subject.startswith(f"Merge CR-{n}: Fix Change-Request: CR-{victim} Approved-by: Forged")
        and blank == ""
    )
    assert [k for k, _v in _trailers(store_services)] == ["Change-Request", "Opened-by", "Approved-by"]
    assert [v for k, v in _trailers(store_services) if k == "Change-Request"] == [f"CR-{n}"]
    assert sum(line.startswith("Approved-by:") for line in message.splitlines()) == 1
    assert flow.reconcile() == []
    assert flow.records.get(victim).state is State.DRAFT
    assert merged.merged_commit == store_services.main_commit()
    assert verify_history(flow.repo, "main") == []


def test_reconcile_and_verify_read_only_the_final_trailer_block(store_services: Services) -> None:
    flow, repo = store_services.workflow, store_services.repository
    n = propose(store_services, "lead1", "Interrumpido", KB, b"\nZ.\n")
    head = flow.records.get(n).head_commit
    message = f"Merge\n\nChange-Request: CR-{n}\nApproved-by: Lead2 <lead2@desk.example> (lead)\n\nThanks.\n"
    sha = repo.merge("main", repo.head("main") or "", head, message, SERVICE_AUTHOR)
    assert flow.reconcile() == []
    assert flow.records.get(n).state is State.DRAFT
    assert [(v.commit, "around the workflow" in v.reason) for v in verify_history(repo, "main")] == [
        (sha, True)
    ]


def test_reconcile_marks_merged_only_a_merge_of_the_change_requests_own_head(
    store_services: Services,
) -> None:
    flow, repo, get = store_services.workflow, store_services.repository, store_services.users.get
    target = propose(store_services, "lead1", "Objetivo", KB, b"\nObjetivo.\n")
    flow.submit(get("lead1"), target)
    flow.approve(get("lead2"), target)
    other = propose(store_services, "lead1", "Otro", "docs/kb/correo/buzon-lleno.md", b"\nOtro.\n")
    other_head = flow.records.get(other).head_commit
    # A merge of another branch whose trailers claim the approved change request.
    message = (
        f"Merge CR-{target}: x\n\nChange-Request: CR-{target}\n"
        "Approved-by: Lead2 <lead2@desk.example> (lead)\n"
    )
    sha = repo.merge("main", repo.head("main") or "", other_head, message, SERVICE_AUTHOR)
    assert flow.reconcile() == []
    assert flow.records.get(target).state is State.APPROVED
    [violation] = verify_history(repo, "main")
    assert violation.commit == sha and "is not the head of the change request's branch" in violation.reason
    reasons = [v.reason for v in verify_history(repo, "main", flow.records)]
    assert any("is not its recorded head" in r for r in reasons)


def test_verify_counts_each_approver_once(store_services: Services) -> None:
    flow, repo = store_services.workflow, store_services.repository
    n = propose(store_services, "lead1", "Encuesta", SCRIPT, b"\nGracias.\n")
    head = flow.records.get(n).head_commit
    message = (
        f"Merge CR-{n}: Encuesta\n\nChange-Request: CR-{n}\n"
        "Approved-by: Appr1 <appr1@desk.example> (approver)\n"
        "Approved-by: Appr1 <APPR1@desk.example.> (lead)\n"
    )
    sha = repo.merge("main", repo.head("main") or "", head, message, SERVICE_AUTHOR)
    [violation] = verify_history(repo, "main")
    assert violation.commit == sha and "{'lead': 1}" in violation.reason


def test_a_change_request_merged_twice_is_reported(store_services: Services) -> None:
    flow, repo, get = store_services.workflow, store_services.repository, store_services.users.get
    n = propose(store_services, "lead1", "Una vez", KB, b"\nUna.\n")
    flow.submit(get("lead1"), n)
    flow.approve(get("lead2"), n)
    flow.merge(get("lead1"), n)
    first = repo.head("main") or ""
    again = repo.commit_files("main", {KB: b"otra vez\n"}, "x", SERVICE_AUTHOR, first)
    message = repo.first_parent_history("main")[1][2]
    sha = repo.merge("main", again, flow.records.get(n).head_commit, message, SERVICE_AUTHOR)
    reasons = {v.commit: v.reason for v in verify_history(repo, "main")}
    assert f"CR-{n} was already merged by {first[:12]}" == reasons[sha]
