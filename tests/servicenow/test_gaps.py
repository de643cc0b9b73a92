"""Knowledge gaps from tickets: fixture incidents pulled from the stand-in, searched against the real index of
the starter content, clustered; a cluster becomes a change request in one action (API, console and CLI)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.cli import main
from kbserver.content.checks import lint_commit
from kbserver.feedback.votes import Vote
from kbserver.repository import ContentRepository
from kbserver.servicenow.proposals import gaps, quoted
from kbserver.services import Services
from kbserver.settings import Settings
from tests.api.conftest import PASSWORD, login
from tests.servicenow.conftest import connect_settings
from tests.servicenow.standin import StandIn, timestamp

# number: (short description, what it is in the test)
TICKETS = {
    "INC0000101": ("Error al abrir Excel con macros", "gap: Excel macros"),
    "INC0000102": ("Excel da error con las macros al abrir", "gap: Excel macros"),
    "INC0000103": ("Las macros de Excel no funcionan", "gap: Excel macros"),
    "INC0000104": ("El lector de tarjetas no reconoce la tarjeta", "gap: card reader"),
    "INC0000105": ("Lector de tarjetas no funciona", "gap: card reader"),
    "INC0000106": ("Escáner no envía a correo", "gap, alone"),
    "INC0000107": ("No puedo conectarme a la VPN desde casa", "good hit: KB-0011"),
    "INC0000108": ("La impresora de la planta 3 no imprime", "good hit: KB-0021"),
    "INC0000109": ("Teams no tiene audio en las reuniones", "good hit: KB-0028"),
    "INC0000110": (
        "Macros de Excel bloqueadas <script>alert(1)</script>",
        "weak, but an article is attached",
    ),
    "INC0000111": ("Excel no abre las macros", "weak, but an operator linked an article"),
    "INC0000112": ("Excel macros deshabilitadas", "weak, but still open"),
}
EXCEL = ["INC0000101", "INC0000102", "INC0000103"]


@pytest.fixture
def desk(
    tmp_path: Path, content_repo: ContentRepository, database_url: str, standin: StandIn
) -> Iterator[Services]:
    """The service's parts on the parametrised store, the fixture tickets pulled, users of each role."""
    base = Settings(
        repo=content_repo.path, data_dir=tmp_path / "data", database_url=database_url, site_autobuild=False
    )
    services = Services.open(connect_settings(base, standin))
    services.catch_up_index()
    for role in ("operator", "lead", "admin"):
        services.users.add(f"{role}1", role, PASSWORD)
    now = datetime.now(UTC)
    ids = {}
    for n, (number, (text, _)) in enumerate(TICKETS.items()):
        resolved = now - timedelta(days=2, hours=n)
        ids[number] = standin.insert(
            "incident",
            number=number,
            short_description=text,
            assignment_group="grp-desk",
            state="2" if number == "INC0000112" else "6",
            opened_at=timestamp(resolved - timedelta(hours=3)),
            resolved_at="" if number == "INC0000112" else timestamp(resolved),
            sys_updated_on=timestamp(resolved),
        )["sys_id"]
    article = standin.insert("kb_knowledge", number="KB0010009", short_description="Macros")
    standin.insert("m2m_kb_task", task=ids["INC0000110"], kb_knowledge=article["sys_id"])
    assert services.servicenow is not None
    services.servicenow.incidents.pull()
    operator = services.users.get("operator1")
    services.feedback.record(Vote(operator.id, "KB-0029", "c" * 40, "INC0000111", False, None, None))
    yield services
    services.close()


def test_weak_tickets_cluster_and_good_hits_or_linked_tickets_do_not(desk: Services) -> None:
    found = gaps(desk, None, None, min_tickets=1)
    by_id = {c["id"]: c for c in found}
    assert [c["id"] for c in found] == ["INC0000101", "INC0000104", "INC0000106"]
    excel = by_id["INC0000101"]
    assert excel["numbers"] == EXCEL and excel["tickets"] == 3 and excel["lang"] == "es"
    assert {"excel", "macros"} <= set(excel["words"])
    assert [e["number"] for e in excel["examples"]] == EXCEL  # newest first
    assert excel["closest"] is None or excel["closest"]["coverage"] < 0.5
    assert by_id["INC0000104"]["numbers"] == ["INC0000104", "INC0000105"]
    assert by_id["INC0000106"]["tickets"] == 1
    assert [c["id"] for c in gaps(desk, None, None, min_tickets=2)] == ["INC0000101", "INC0000104"]
    assert gaps(desk, None, datetime.now(UTC) - timedelta(days=10)) == []  # outside the range, nothing
    # A stricter rule: a hit that holds most but not all of the ticket's words is weak too.
    desk.settings = Settings(**{**desk.settings.model_dump(), "servicenow_gap_coverage": 0.99})
    strict = {n for c in gaps(desk, None, None, min_tickets=1) for n in c["numbers"]}
    assert "INC0000107" in strict and "INC0000108" not in strict


def test_a_ticket_is_quoted_as_plain_text() -> None:
    text = quoted("See [this](javascript:alert(1)) <img src=x onerror=alert(1)> **now**\n# x")
    assert "<" not in text and "](" not in text and "\n" not in text and "**" not in text


def test_a_lead_proposes_a_gap_as_a_change_request_in_one_action(desk: Services) -> None:
    main_before = desk.main_commit()
    with TestClient(create_app(desk.settings, desk)) as client:
        desk.wait_for_background()
        listed = client.get("/api/servicenow/gaps", params={"limit": 1}, headers=_bearer(desk, "lead1"))
        assert listed.status_code == 200, listed.text
        assert [c["id"] for c in listed.json()] == ["INC0000101"]
        assert listed.headers["X-Total-Count"] == "2" and 'rel="next"' in listed.headers["Link"]
        assert "closest_category" not in listed.json()[0]

        refused = client.post(
            "/api/servicenow/gaps/INC0000101/change-request", headers=_bearer(desk, "operator1")
        )
        assert refused.status_code == 403 and "error" in refused.json()
        missing = client.post(
            "/api/servicenow/gaps/INC0000108/change-request", headers=_bearer(desk, "lead1")
        )
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

        made = client.post(
            "/api/servicenow/gaps/INC0000102/change-request",  # any ticket of the cluster names it
            headers=_bearer(desk, "lead1"),
            json={"category": "software"},
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert made.headers["Location"] == f"/api/changes/{body['change_request']}"
        assert body["cluster"] == "INC0000101" and body["tickets"] == 3
        assert body["path"].startswith("docs/kb/software/")
        assert client.get(made.headers["Location"], headers=_bearer(desk, "lead1")).status_code == 200

        again = client.post("/api/servicenow/gaps/INC0000101/change-request", headers=_bearer(desk, "lead1"))
        assert (
            again.status_code == 409
            and again.json()["error"]["details"]["change_request"] == body["change_request"]
        )
        relisted = client.get("/api/servicenow/gaps", headers=_bearer(desk, "lead1")).json()
        assert relisted[0]["change_request"] == body["change_request"]

    assert desk.main_commit() == main_before  # never a commit to main
    record = desk.workflow.records.get(body["change_request"])
    assert record.state.value == "draft"
    text = desk.repository.read(record.head_commit, body["path"]).decode()
    assert f"id: {body['document_id']}" in text and "owner: lead1" in text and "lang: es" in text
    for number in EXCEL:
        assert f"> **{number}**: {TICKETS[number][0]}" in text  # the examples, quoted
    assert "servicenow_gap: INC0000101" in text
    errors = [f for f in lint_commit(desk.repository, record.branch) if f.severity == "error"]
    assert errors == []


def test_the_console_lists_gaps_and_proposes_one(desk: Services) -> None:
    with TestClient(create_app(desk.settings, desk)) as client:
        desk.wait_for_background()
        csrf = login(client, "lead1")
        page = client.get("/app/gaps")
        assert page.status_code == 200
        assert "Huecos de conocimiento" in page.text and "INC0000101" in page.text
        assert "Proponer un artículo" in page.text and "Las macros de Excel no funcionan" in page.text
        assert "Knowledge gaps from tickets" in client.get("/app/gaps?lang=en").text
        done = client.post("/app/gaps/INC0000104", data={"csrf_token": csrf}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"].startswith("/app/changes/")
        assert "CR-" in client.get("/app/gaps?lang=es").text
        no_csrf = client.post("/app/gaps/INC0000101", follow_redirects=False)
        assert no_csrf.status_code == 403


def test_kb_servicenow_gaps_and_propose(
    desk: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in desk.settings.model_dump().items():
        text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        monkeypatch.setenv(f"KB_{name.upper()}", text)
    desk.close()
    assert main(["servicenow", "gaps", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in listed] == ["INC0000101", "INC0000104"]
    assert main(["servicenow", "gaps"]) == 0
    assert "INC0000103: Las macros de Excel no funcionan" in capsys.readouterr().out
    assert (
        main(["servicenow", "propose", "INC0000104", "--as", "lead1", "--title", "Lector de tarjetas"]) == 0
    )
    assert "drafted from 2 ticket(s)" in capsys.readouterr().out
    assert main(["servicenow", "propose", "INC0000104", "--as", "lead1"]) == 2
    assert "proposed already" in capsys.readouterr().err


def _bearer(services: Services, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.users.new_token(name, 'test')[1]}"}
