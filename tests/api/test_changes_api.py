"""End to end over HTTP: a lead edits, a client approver signs off, the lead merges, operators see it."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from kbserver.services import Services
from tests.api.conftest import login

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
