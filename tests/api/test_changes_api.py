"""End to end over HTTP: a lead edits, a client approver signs off, the lead merges, operators see it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from kbserver.settings import Settings
from kbserver.store.schema import change_requests
from tests.api.conftest import login
from tests.approval.conftest import git_branches

PROC = "docs/procedures/06-calidad.md"


def test_edit_review_approve_merge_publish(client: TestClient, app_services: Services) -> None:
    csrf = login(client, "lead1")
    h = {"x-csrf-token": csrf}
    created = client.post("/api/changes", json={"title": "Calidad: nuevo objetivo de chat"}, headers=h)
    assert created.status_code == 201
    change = created.json()
    n, head = change["number"], change["head_commit"]
    assert change["branch"].startswith(f"change/{n}-calidad")
    text = app_services.repository.read(head, PROC)
    assert text
    new_text = (
        text.decode() + "\n## Objetivo zafiro\n\nResponder en menos de 15 segundos en el canal zafiro.\n"
    )
    wrote = client.post(
        f"/api/changes/{n}/commits", json={"changes": {PROC: new_text}, "expected_head": head}, headers=h
    )
    assert wrote.status_code == 200
    stale = client.post(
        f"/api/changes/{n}/commits", json={"changes": {PROC: "x"}, "expected_head": head}, headers=h
    )
    assert (
        stale.status_code == 409 and stale.json()["error"]["details"]["head"] == wrote.json()["head_commit"]
    )
    assert client.post(f"/api/changes/{n}/submit", headers=h).json()["state"] == "in_review"

    client.cookies.clear()
    csrf = login(client, "approver1")
    h = {"x-csrf-token": csrf}
    diff = client.get(f"/api/changes/{n}/diff").json()
    [file] = diff["files"]
    assert file["path"] == PROC and "+## Objetivo zafiro" in file["diff"]
    assert '<h2 id="objetivo-zafiro">' in file["html"]
    assert diff["policy"]["missing"] == {"approver": 1}
    approved = client.post(f"/api/changes/{n}/approve", json={"body": "De acuerdo"}, headers=h).json()
    assert approved["state"] == "approved" and approved["policy"]["met"]
    assert client.post(f"/api/changes/{n}/merge", headers=h).status_code == 403  # approvers do not merge

    client.cookies.clear()
    csrf = login(client, "lead1")
    started = time.monotonic()
    merged = client.post(f"/api/changes/{n}/merge", headers={"x-csrf-token": csrf}).json()
    assert merged["state"] == "merged"
    found = client.get("/api/search", params={"q": "objetivo zafiro"}).json()
    assert time.monotonic() - started < 2.0
    assert found["results"][0]["id"] == "PROC-06" and found["commit"] == merged["merged_commit"]
    app_services.wait_for_background()
    page = client.get("/procedures/06-calidad/")
    assert "Objetivo zafiro" in page.text
    actions = [e["action"] for e in client.get(f"/api/changes/{n}/events").json()]
    assert actions == ["create", "commit", "submit", "approve", "policy_met", "merge"]


def test_operator_cannot_approve_or_merge_even_with_a_forged_post(client: TestClient) -> None:
    csrf = login(client, "lead1")
    n = client.post("/api/changes", json={"title": "Algo"}, headers={"x-csrf-token": csrf}).json()["number"]
    client.cookies.clear()
    csrf = login(client, "operator1")
    h = {"x-csrf-token": csrf}
    assert client.post(f"/api/changes/{n}/approve", json={}, headers=h).status_code == 403
    assert client.post(f"/api/changes/{n}/merge", headers=h).status_code == 403
    assert client.post(f"/api/changes/{n}/approve", json={}).status_code == 403  # no CSRF token
    assert client.get("/api/changes/999").status_code == 404


# Issue 11: the trust boundaries of the workflow over HTTP, on SQLite and on PostgreSQL.

KB = "docs/kb/red-vpn/vpn-lenta.md"


@pytest.fixture
def store_app(
    settings: Settings, database_url: str
) -> Iterator[tuple[TestClient, Services, dict[str, dict[str, str]]]]:
    """The app on a state store with a bearer token per user (lead1, lead2, approver1, admin1)."""
    services = Services.open(
        settings.model_copy(update={"database_url": database_url, "site_autobuild": False})
    )
    tokens = {}
    for name, role in (("lead1", "lead"), ("lead2", "lead"), ("approver1", "approver"), ("admin1", "admin")):
        services.users.add(name, role, None)
        tokens[name] = {"authorization": f"Bearer {services.users.issue_token(name)}"}
    with TestClient(create_app(services.settings, services)) as client:
        yield client, services, tokens
    services.wait_for_background()  # before the store goes away under its catch-up thread
    services.close()


def _post(client: TestClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    """POST body as JSON with every non-ASCII character escaped, as a client may send a lone surrogate."""
    return client.post(url, content=json.dumps(body), headers={**headers, "content-type": "application/json"})


def test_ten_simultaneous_creations_all_answer_201(store_app: tuple[TestClient, Services, Any]) -> None:
    client, services, tokens = store_app
    start = threading.Barrier(10)

    def create(i: int) -> int:
        start.wait()
        return client.post("/api/changes", json={"title": f"Cambio {i}"}, headers=tokens["lead1"]).status_code

    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(create, range(10)))
    assert codes == [201] * 10
    numbers = sorted(c["number"] for c in client.get("/api/changes", headers=tokens["lead1"]).json())
    assert numbers == list(range(1, 11))
    assert len(git_branches(services.repository.path)) == 10


@pytest.mark.parametrize(
    "title",
    ["Fix\n\nChange-Request: CR-1\nApproved-by: Forged <f@x> (approver)", "NUL\x00dentro", "a\ud800b"],
)
def test_a_title_that_is_not_one_clean_line_answers_422(
    store_app: tuple[TestClient, Services, Any], title: str
) -> None:
    client, _services, tokens = store_app
    answer = _post(client, "/api/changes", {"title": title}, tokens["lead1"])
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_input"
    assert "title" in answer.json()["error"]["message"]
    assert client.post("/api/changes", json={"title": "Limpio"}, headers=tokens["lead1"]).status_code == 201


def _change(client: TestClient, headers: dict[str, str], title: str = "Cambio") -> tuple[int, str]:
    created = client.post("/api/changes", json={"title": title}, headers=headers).json()
    return created["number"], created["head_commit"]


def test_a_lone_surrogate_in_a_commit_answers_422(store_app: tuple[TestClient, Services, Any]) -> None:
    client, _services, tokens = store_app
    n, head = _change(client, tokens["lead1"])
    for body in (
        {"changes": {KB: "a\ud800b"}, "expected_head": head},
        {"changes": {KB: "texto\n"}, "expected_head": head, "message": "a\ud800b"},
        {"changes": {KB: "texto\n"}, "expected_head": head, "message": "NUL\x00"},
    ):
        answer = _post(client, f"/api/changes/{n}/commits", body, tokens["lead1"])
        assert answer.status_code == 422, answer.text
    assert [e["action"] for e in client.get(f"/api/changes/{n}/events", headers=tokens["lead1"]).json()] == [
        "create"
    ]
    for verb in ("comment", "reject"):
        answer = _post(client, f"/api/changes/{n}/{verb}", {"body": "NUL\x00 a\ud800b"}, tokens["lead2"])
        assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("path", ["docs//x.md", "docs/./x.md", "docs/x.md/", "docs/.git/config", "docs/kb"])
def test_a_path_git_would_not_store_answers_422_and_logs_nothing(
    store_app: tuple[TestClient, Services, Any], path: str
) -> None:
    client, services, tokens = store_app
    n, head = _change(client, tokens["lead1"])
    answer = client.post(
        f"/api/changes/{n}/commits",
        json={"changes": {path: "hola\n"}, "expected_head": head},
        headers=tokens["lead1"],
    )
    assert answer.status_code == 422, answer.text
    assert path in answer.json()["error"]["message"] or answer.json()["error"]["details"]
    assert services.workflow.records.get(n).head_commit == head
    assert services.repository.head(services.workflow.records.get(n).branch) == head
    assert [e["action"] for e in services.workflow.records.events(n)] == ["create"]


def test_a_file_and_a_folder_of_the_same_name_in_one_commit_answer_422(
    store_app: tuple[TestClient, Services, Any],
) -> None:
    client, services, tokens = store_app
    n, head = _change(client, tokens["lead1"])
    answer = client.post(
        f"/api/changes/{n}/commits",
        json={"changes": {"docs/kb/q/a.md": "x\n", "docs/kb/q": "y\n"}, "expected_head": head},
        headers=tokens["lead1"],
    )
    assert answer.status_code == 422, answer.text  # git kept docs/kb/q and silently lost docs/kb/q/a.md
    assert answer.json()["error"]["details"]["paths"] == ["docs/kb/q"]
    assert services.repository.head(services.workflow.records.get(n).branch) == head


def test_retiring_a_file_whose_front_matter_is_never_closed_answers_422(
    store_app: tuple[TestClient, Services, Any],
) -> None:
    client, _services, tokens = store_app
    n, head = _change(client, tokens["lead1"])
    unclosed = "---\nid: KB-0999\ntitle: Sin cierre\n\n# Cuerpo\n\nTexto.\n"
    path = "docs/kb/red-vpn/sin-cierre.md"
    wrote = client.post(
        f"/api/changes/{n}/commits",
        json={"changes": {path: unclosed}, "expected_head": head},
        headers=tokens["lead1"],
    ).json()
    answer = client.post(
        f"/api/changes/{n}/retire",
        json={"path": path, "expected_head": wrote["head_commit"]},
        headers=tokens["lead1"],
    )
    assert answer.status_code == 422 and "front matter" in answer.json()["error"]["message"]


def test_every_change_request_still_answers_with_a_broken_policy_on_main(
    store_app: tuple[TestClient, Services, Any],
) -> None:
    client, services, tokens = store_app
    n, _head = _change(client, tokens["lead1"])
    repo = services.repository
    broken = b"rules:\n  - paths: ['docs/**']\n    approvals: {lead: one}\n"
    repo.commit_files("main", {"approvals.yml": broken}, "around", SERVICE_AUTHOR, repo.head("main"))
    assert client.post("/api/changes", json={"title": "Otro"}, headers=tokens["lead1"]).status_code == 201
    for url in (f"/api/changes/{n}", f"/api/changes/{n}/diff"):
        answer = client.get(url, headers=tokens["lead1"])
        assert answer.status_code == 200
        assert "admin and a client approver" in answer.json()["policy"]["problem"]
    assert client.get("/api/changes?awaiting_me=true", headers=tokens["approver1"]).status_code == 200


def test_a_nul_in_a_stored_title_does_not_break_merges(client: TestClient, app_services: Services) -> None:
    """A title stored before titles were checked (SQLite keeps a NUL) merges, and so does everything after."""
    app_services.users.add("lead2", "lead", None)
    lead = {"authorization": f"Bearer {app_services.users.issue_token('lead1')}"}
    other = {"authorization": f"Bearer {app_services.users.issue_token('lead2')}"}
    numbers = []
    for path in (KB, "docs/kb/correo/buzon-lleno.md"):
        n, head = _change(client, lead)
        text = (app_services.repository.read(head, path) or b"").decode() + "\nMás.\n"
        client.post(
            f"/api/changes/{n}/commits", json={"changes": {path: text}, "expected_head": head}, headers=lead
        )
        numbers.append(n)
    with app_services.engine.begin() as conn:
        conn.execute(
            change_requests.update().where(change_requests.c.id == numbers[0]).values(title="a\x00b")
        )
    for n in numbers:
        assert client.post(f"/api/changes/{n}/submit", headers=lead).status_code == 200
        assert client.post(f"/api/changes/{n}/approve", json={}, headers=other).json()["state"] == "approved"
    for n in numbers:
        merged = client.post(f"/api/changes/{n}/merge", headers=lead)
        assert merged.status_code == 200 and merged.json()["state"] == "merged", merged.text
    app_services.wait_for_background()  # the site rebuild that follows a merge


def test_the_console_says_why_and_offers_no_approval_to_a_co_author(
    store_app: tuple[TestClient, Services, Any],
) -> None:
    client, services, tokens = store_app
    n, head = _change(client, tokens["lead1"])
    text = (services.repository.read(head, KB) or b"").decode()
    wrote = client.post(
        f"/api/changes/{n}/commits",
        json={"changes": {KB: text + "\nDe lead2.\n"}, "expected_head": head},
        headers=tokens["lead2"],
    )
    assert client.post(f"/api/changes/{n}/submit", headers=tokens["lead1"]).status_code == 200
    repo = services.repository
    broken = b"rules: [\n"
    repo.commit_files("main", {"approvals.yml": broken}, "around", SERVICE_AUTHOR, repo.head("main"))
    page = client.get(f"/app/changes/{n}", headers=tokens["lead2"])
    assert page.status_code == 200
    assert "admin and a client approver" in page.text
    assert "/approve" not in page.text and "/request-changes" in page.text
    assert "/approve" in client.get(f"/app/changes/{n}", headers=tokens["approver1"]).text
    assert wrote.status_code == 200


ALIAS_ARTICLE = (
    "---\nid: KB-0998\ntitle: Alias\nlang: es\nowner: a\naudience: [L1]\nreview_by: 2030-01-01\n"
    "tags: &a [x, *a]\n---\n\nTexto.\n"
)


@pytest.mark.parametrize(
    ("path", "text", "rule"),
    [
        ("docs/kb/red-vpn/alias.md", ALIAS_ARTICLE, "front-matter-yaml"),
        ("mkdocs.yml", "site_name: Sitio\nnav: &a\n  - index.md\n  - T: *a\n", "site-config"),
    ],
)
def test_yaml_aliases_answer_422_on_submit_and_the_diff_still_answers(
    store_app: tuple[TestClient, Services, Any], path: str, text: str, rule: str
) -> None:
    client, _services, tokens = store_app
    n, head = _change(client, tokens["lead1"])
    wrote = client.post(
        f"/api/changes/{n}/commits",
        json={"changes": {path: text}, "expected_head": head},
        headers=tokens["lead1"],
    )
    assert wrote.status_code == 200, wrote.text
    diff = client.get(f"/api/changes/{n}/diff", headers=tokens["lead1"])
    assert diff.status_code == 200, diff.text
    answer = client.post(f"/api/changes/{n}/submit", headers=tokens["lead1"])
    assert answer.status_code == 422, answer.text
    findings = answer.json()["error"]["details"]["findings"]
    assert [(f["path"], f["rule"]) for f in findings] == [(path, rule)]
    assert "anchor &a is not allowed" in findings[0]["message"]
