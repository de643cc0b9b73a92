"""Read confirmations over HTTP, in the console and in `kb report`: roles are enforced on the server."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.cli import main
from kbserver.services import Services
from kbserver.settings import Settings
from tests.acks.conftest import ESCALATION, PEOPLE, merge, text

PASSWORD = "clave-de-prueba-larga"


@pytest.fixture
def desk_app(settings: Settings) -> Iterator[tuple[Services, TestClient]]:
    """The service with the people of the desk (each with a password) and one merged change to PROC-03."""
    services = Services.open(settings.model_copy(update={"site_autobuild": False, "manual_autobuild": False}))
    for name, role in PEOPLE:
        services.users.add(name, role, PASSWORD, display_name=name.title())
    merge(
        services,
        "Escalado",
        {ESCALATION: (text(services, ESCALATION) + "\nPlazo nuevo.\n").encode()},
        ("appr1",),
    )
    with TestClient(create_app(services.settings, services)) as client:
        yield services, client
    services.wait_for_background()
    services.close()


def _login(client: TestClient, name: str) -> dict[str, str]:
    client.cookies.clear()
    answer = client.post("/api/session", json={"name": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"x-csrf-token": answer.json()["csrf_token"]}


def _error(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"} and body["error"]["code"]
    return str(body["error"]["message"])


def test_an_operator_reads_the_diff_and_confirms_for_themselves_only(
    desk_app: tuple[Services, TestClient],
) -> None:
    _services, client = desk_app
    h = _login(client, "op1")
    mine = client.get("/api/acks/mine")
    assert mine.status_code == 200 and mine.headers["x-total-count"] == "1"
    [row] = mine.json()
    assert row["document_id"] == "PROC-03" and row["state"] == "pending" and row["since_version"] == 1
    assert client.get("/api/acks/mine", params={"document": "PROC-01"}).json() == []
    ask = client.get("/api/acks/mine/PROC-03").json()
    inserted = [s["text"] for line in ask["lines"] if line for s in line["segments"] if s["kind"] == "ins"]
    assert any("Plazo nuevo." in t for t in inserted)

    _error(client.post("/api/acks/mine/PROC-03", json={"commit": "0" * 40}, headers=h), 409)
    _error(client.post("/api/acks/mine/PROC-03", json={"commit": "nope"}, headers=h), 422)
    _error(client.post("/api/acks/mine/PROC-03", json={"commit": row["commit"]}), 403)  # no CSRF token
    made = client.post("/api/acks/mine/PROC-03", json={"commit": row["commit"]}, headers=h)
    assert made.status_code == 201, made.text
    assert client.get(made.headers["location"]).json() == made.json()
    repeat = client.post("/api/acks/mine/PROC-03", json={"commit": row["commit"]}, headers=h)
    assert repeat.status_code == 200 and repeat.json()["id"] == made.json()["id"]
    assert client.get("/api/acks/mine").json() == []
    _error(client.get("/api/acks/mine/PROC-03"), 404)
    for path in ("/api/acks", "/api/acks/people"):  # others' standing: leads and admins only
        assert "role lead" in _error(client.get(path), 403)

    _login(client, "op2")
    assert "own confirmations" in _error(client.get(made.headers["location"]), 403)
    h = _login(client, "appr1")
    assert "not asked" in _error(
        client.post("/api/acks/mine/PROC-03", json={"commit": row["commit"]}, headers=h), 403
    )
    _error(client.get("/api/acks"), 403)
    client.cookies.clear()
    _error(client.get("/api/acks/mine"), 401)


def test_leads_see_per_document_and_per_person_in_pages(desk_app: tuple[Services, TestClient]) -> None:
    services, client = desk_app
    commit = services.main_commit() or ""
    services.acks.confirm(services.users.get("op1"), "PROC-03", commit)
    _login(client, "lead2")
    documents = client.get("/api/acks")
    assert documents.status_code == 200 and documents.headers["x-total-count"] == "17"
    first = documents.json()[0]
    assert first["document_id"] == "PROC-03" and (first["asked"], first["confirmed"], first["pending"]) == (
        4,
        1,
        3,
    )
    assert first["audience"] == ["L1", "L2"] and first["overdue"] == 0
    assert {d["kind"] for d in client.get("/api/acks", params={"kind": "script"}).json()} == {"script"}
    people = client.get("/api/acks/people", params={"document": "PROC-03", "limit": 2})
    assert people.headers["x-total-count"] == "4" and 'rel="next"' in people.headers["link"]
    rest = client.get(people.headers["link"][1 : people.headers["link"].index(">")]).json()
    states = {p["user"]: p["state"] for p in people.json() + rest}
    assert states == {"op1": "confirmed", "op2": "pending", "lead1": "pending", "lead2": "pending"}
    confirmed = client.get("/api/acks/people", params={"state": "confirmed"}).json()
    assert [(p["user"], p["confirmed_version"]) for p in confirmed] == [("op1", 2)]
    _error(client.get("/api/acks/people", params={"document": "KB-0001"}), 422)
    _error(client.get("/api/acks", params={"limit": 0}), 422)


def test_the_console_asks_on_the_home_page_and_the_lead_sees_who(
    desk_app: tuple[Services, TestClient],
) -> None:
    services, client = desk_app
    h = _login(client, "op1")
    home = client.get("/app")
    assert "Cambiado desde su última confirmación" in home.text and 'data-document="PROC-03"' in home.text
    assert "<ins>Plazo nuevo.</ins>" in home.text
    assert "Changed since you last confirmed" in client.get("/app", params={"lang": "en"}).text
    commit = services.main_commit() or ""
    refused = client.post("/app/acks/PROC-03", data={"commit": commit}, follow_redirects=False)
    assert refused.status_code == 403  # the form's CSRF token is checked
    done = client.post(
        "/app/acks/PROC-03", data={"commit": commit, "csrf_token": h["x-csrf-token"]}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/app"
    assert 'data-document="PROC-03"' not in client.get("/app").text
    assert client.get("/app/acks/report/PROC-03").status_code == 403
    _login(client, "lead1")
    page = client.get("/app/acks/report/PROC-03")
    assert (
        'data-user="op1" data-state="confirmed"' in page.text
        and 'data-user="op2" data-state="pending"' in page.text
    )
    assert 'data-document="PROC-03"' in client.get("/app/reports").text  # on the KPI page too
    rows = list(csv.DictReader(io.StringIO(client.get("/app/acks/report.csv").text)))
    assert {(r["user"], r["state"]) for r in rows} >= {("op1", "confirmed"), ("op2", "pending")}
    _login(client, "appr1")
    assert 'id="acks"' not in client.get("/app/reports").text  # approvers see the desk's figures, not people


def test_kb_report_acks_as_json_and_csv(
    desk_app: tuple[Services, TestClient], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, _client = desk_app
    services.acks.confirm(services.users.get("op1"), "PROC-03", services.main_commit() or "")
    settings = services.settings
    monkeypatch.setenv("KB_DATABASE_URL", settings.database_url)
    options = ["--repo", str(settings.repo), "--data-dir", str(settings.data_dir)]
    assert main(["report", "acks", "--json", *options]) == 0
    people = json.loads(capsys.readouterr().out)
    assert {(p["document_id"], p["user"], p["state"]) for p in people} == {
        ("PROC-03", "op1", "confirmed"),
        ("PROC-03", "op2", "pending"),
        ("PROC-03", "lead1", "pending"),
        ("PROC-03", "lead2", "pending"),
    }
    assert main(["report", "acks-documents", "--csv", *options]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["document_id"] == "PROC-03" and rows[0]["confirmed"] == "1" and len(rows) == 17
