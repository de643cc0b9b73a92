"""Each approved change to the procedures makes the next version, kept; the API lists, serves and compares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.services import Services
from kbserver.settings import Settings
from tests.manual.conftest import PEOPLE, History, append, merge_change, pages

PASSWORD = "clave-de-prueba-larga"


@pytest.fixture
def autobuild_services(manual_settings: Settings) -> Iterator[Services]:
    """The service's parts building the manual in the background after merges, as `kb serve` does."""
    opened = Services.open(manual_settings.model_copy(update={"manual_autobuild": True}))
    for name, role in PEOPLE:
        opened.users.add(name, role, None, display_name=name.title(), email=f"{name}@desk.example")
    yield opened
    opened.wait_for_background()
    opened.close()


def test_a_merge_touching_procedures_builds_the_next_version_and_keeps_every_one(
    autobuild_services: Services,
) -> None:
    services = autobuild_services
    root = services.settings.manual_root
    path = "docs/procedures/03-escalado.md"
    merge_change(services, "Escalado", {path: append(services, path, "\nUno.\n")}, "appr1")
    services.wait_for_background()
    assert [p.name for p in sorted(root.glob("*.pdf"))] == [
        f"MP-ACME-01-v0002-{services.manual.revision(2).commit[:12]}.pdf"
    ]
    article = "docs/kb/red-vpn/vpn-lenta.md"
    merge_change(services, "VPN", {article: append(services, article, "\nDos.\n")}, "lead2")
    services.wait_for_background()
    assert len(list(root.glob("*.pdf"))) == 1  # an article is not part of the manual
    merge_change(services, "Escalado otra vez", {path: append(services, path, "\nTres.\n")}, "appr2")
    services.wait_for_background()
    kept = sorted(root.glob("*.pdf"))
    assert [p.name.split("-")[3] for p in kept] == ["v0002", "v0003"]
    assert "Versión 2" in pages(kept[0].read_bytes())[0] and "Versión 3" in pages(kept[1].read_bytes())[0]


@pytest.fixture
def client(manual_services: Services, history: History) -> Iterator[TestClient]:
    """A client of the app, logged in as a client approver."""
    manual_services.users.add("cliente", "approver", PASSWORD)
    with TestClient(create_app(manual_services.settings, manual_services)) as test_client:
        assert test_client.get("/api/manual/versions").status_code == 401
        response = test_client.post("/api/session", json={"name": "cliente", "password": PASSWORD})
        assert response.status_code == 200
        yield test_client


def test_api_lists_versions_with_approvers_and_serves_each(client: TestClient, history: History) -> None:
    versions = client.get("/api/manual/versions").json()
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["commit"] for v in versions] == [history.new_chapter, history.escalation, history.seed]
    assert versions[0]["approvers"] == [{"name": "Appr2", "email": "appr2@desk.example", "role": "approver"}]
    assert versions[1]["change_request"] == "CR-1" and versions[2]["approvers"] == []
    assert versions[0]["built"] is False
    response = client.get("/api/manual/versions/2.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert 'filename="MP-ACME-01-v0002-' in response.headers["content-disposition"]
    assert "Versión 2" in pages(response.content)[0]
    assert [v["built"] for v in client.get("/api/manual/versions").json()] == [False, True, False]
    missing = client.get("/api/manual/versions/9.pdf")
    assert missing.status_code == 404 and "no version 9" in missing.json()["error"]["message"]


def test_api_compares_two_versions_chapter_by_chapter(client: TestClient) -> None:
    compared = client.get("/api/manual/compare", params={"from": 1, "to": 3}).json()
    assert compared["from"]["version"] == 1 and compared["to"]["change_request"] == "CR-3"
    changed = {c["id"]: c["status"] for c in compared["chapters"]}
    assert changed == {"PROC-01": "changed", "PROC-03": "changed", "PROC-09": "added"}
    first = next(c for c in compared["chapters"] if c["id"] == "PROC-01")
    inserted = [s["text"] for line in first["lines"] if line for s in line["segments"] if s["kind"] == "ins"]
    assert any("Cobertura ampliada" in text for text in inserted)
    assert client.get("/api/manual/compare", params={"from": 2, "to": 2}).json()["chapters"] == []
    bad = client.get("/api/manual/compare", params={"from": "x", "to": 3})
    assert bad.status_code == 422 and bad.json()["error"]["code"]
    assert client.get("/api/manual/compare", params={"from": 1, "to": 7}).status_code == 404
    page = client.get("/app/manual/compare", params={"old": 2, "new": 3})
    assert page.status_code == 200 and "PROC-09" in page.text and "<ins>" in page.text
    assert client.get("/app/manual/compare", params={"old": "<x>", "new": 3}).status_code == 422
