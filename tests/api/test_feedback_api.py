"""Feedback, ticket links, flags and deviations over HTTP."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from kbserver.services import Services
from tests.api.conftest import login

LINK = "https://example.service-now.com/nav_to.do?uri=task.do?sysparm_query=number=INC0012345"


def test_feedback_with_ticket_link_and_resubmission(client: TestClient, app_services: Services) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    body = {"document_id": "KB-0002", "ticket": "inc0012345", "helpful": False, "outcome": "escalated"}
    first = client.post("/api/feedback", json=body, headers=h)
    assert first.status_code == 201
    record = first.json()
    assert record["ticket"] == {"ref": "INC0012345", "url": LINK}
    assert record["commit"] == app_services.main_commit() and record["user"] == "operator1"
    again = client.post(
        "/api/feedback", json={**body, "helpful": True, "outcome": "resolved"}, headers=h
    ).json()
    assert again["id"] == record["id"] and again["helpful"] is True
    page = client.post("/api/feedback", json={"page": "/kb/red-vpn/vpn-lenta/", "helpful": True}, headers=h)
    assert (
        page.status_code == 201 and page.json()["document_id"] == "KB-0012" and page.json()["ticket"] is None
    )
    used = client.get("/api/tickets/INC0012345").json()
    assert [d["document_id"] for d in used["documents"]] == ["KB-0002"] and used["ticket"]["url"] == LINK
    served = client.get("/api/documents/KB-0002/tickets").json()["tickets"]
    assert [t["ticket"]["ref"] for t in served] == ["INC0012345"]


def test_bad_feedback_is_refused_and_nothing_written(client: TestClient, app_services: Services) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    missing = client.post("/api/feedback", json={"document_id": "KB-9999", "helpful": True}, headers=h)
    assert missing.status_code == 404
    bad_ticket = client.post(
        "/api/feedback", json={"document_id": "KB-0001", "ticket": "12345", "helpful": True}, headers=h
    )
    assert bad_ticket.status_code == 422 and "(INC|RITM|REQ|CHG|PRB)" in bad_ticket.json()["error"]["message"]
    long = client.post(
        "/api/feedback", json={"document_id": "KB-0001", "helpful": True, "comment": "x" * 2001}, headers=h
    )
    assert long.status_code == 422
    outcome = client.post(
        "/api/feedback", json={"document_id": "KB-0001", "helpful": True, "outcome": "maybe"}, headers=h
    )
    assert outcome.status_code == 422 and "resolved" in str(outcome.json()["error"]["details"])
    assert app_services.feedback.for_document("KB-0001") == []


def test_flag_closed_by_the_merge_of_its_change_request(client: TestClient, app_services: Services) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    before = {"document_id": "KB-0012", "ticket": "INC0000100", "helpful": False}
    old_vote = client.post("/api/feedback", json=before, headers=h).json()
    flag = client.post(
        "/api/documents/KB-0012/flags", json={"reason": "outdated", "comment": "Falta la pasarela"}, headers=h
    ).json()
    assert client.get("/api/flags", headers=h).status_code == 403  # operators do not see the queue
    client.cookies.clear()
    h = {"x-csrf-token": login(client, "lead1")}
    queue = client.get("/api/flags", params={"owner": "marco.rossi", "kind": "article"}).json()
    assert [f["id"] for f in queue] == [flag["id"]]
    change = client.post("/api/changes", json={"title": "Pasarela en VPN lenta"}, headers=h).json()
    n, head = change["number"], change["head_commit"]
    path = "docs/kb/red-vpn/vpn-lenta.md"
    text = (app_services.repository.read(head, path) or b"").decode() + "\nElija la pasarela más cercana.\n"
    client.post(f"/api/changes/{n}/commits", json={"changes": {path: text}, "expected_head": head}, headers=h)
    assert (
        client.post(f"/api/flags/{flag['id']}/resolve", json={"change": n}, headers=h).json()["state"]
        == "linked"
    )
    client.post(f"/api/changes/{n}/submit", headers=h)
    client.cookies.clear()
    app_services.users.add("lead2", "lead", "s3cret-password")
    h2 = {"x-csrf-token": login(client, "lead2")}
    client.post(f"/api/changes/{n}/approve", json={}, headers=h2)
    client.cookies.clear()
    h = {"x-csrf-token": login(client, "lead1")}
    assert client.post(f"/api/changes/{n}/merge", headers=h).json()["state"] == "merged"
    client.cookies.clear()
    login(client, "operator1")
    mine = client.get("/api/flags/mine").json()
    assert mine[0]["state"] == "closed" and mine[0]["change"] == f"CR-{n}"
    # Votes are kept per version: the new one is keyed to the merge that changed the page, the old one stays.
    h = {"x-csrf-token": client.get("/api/me").json()["csrf_token"]}
    after = {"document_id": "KB-0012", "ticket": "INC0000101", "helpful": True}
    new_vote = client.post("/api/feedback", json=after, headers=h).json()
    assert new_vote["commit"] != old_vote["commit"]
    assert app_services.repository.is_ancestor(old_vote["commit"], new_vote["commit"])
    client.cookies.clear()
    login(client, "approver1")
    [row] = [r for r in client.get("/api/reports/documents").json() if r["document_id"] == "KB-0012"]
    assert (row["helpful_rate"], row["helpful_rate_since_change"], row["open_flags"]) == (0.5, 1.0, 0)


def test_deviation_approved_and_rejected(client: TestClient) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    step = "3-pregunta-de-verificacion"
    made = [
        client.post(
            "/api/deviations",
            json={
                "script_id": "SCR-0001",
                "step": step,
                "ticket": "INC0000001",
                "justification": "Ya verificado en otra llamada",
            },
            headers=h,
        ).json(),
        client.post(
            "/api/deviations",
            json={"script_id": "SCR-0001", "step": step, "justification": "Sin teléfono"},
            headers=h,
        ).json(),
    ]
    bad = client.post(
        "/api/deviations",
        json={"script_id": "SCR-0001", "step": "9-nada", "justification": "x y z"},
        headers=h,
    )
    assert bad.status_code == 422 and step in bad.json()["error"]["details"]["steps"]
    assert (
        client.post(f"/api/deviations/{made[0]['id']}/review", json={"approve": True}, headers=h).status_code
        == 403
    )
    client.cookies.clear()
    h = {"x-csrf-token": login(client, "lead1")}
    client.post(
        f"/api/deviations/{made[0]['id']}/review", json={"approve": True, "comment": "Bien"}, headers=h
    )
    client.post(
        f"/api/deviations/{made[1]['id']}/review", json={"approve": False, "comment": "No"}, headers=h
    )
    report = client.get("/api/reports/deviations").json()
    assert report == [
        {"script_id": "SCR-0001", "step": step, "total": 2, "approved": 1, "rejected": 1, "pending": 0}
    ]
    assert client.get("/api/reports/deviations", params={"to": "2020-01-01"}).json() == []


def test_reports_need_a_lead_or_approver_and_the_cli_prints_csv(
    client: TestClient, app_services: Services, capsys
) -> None:  # type: ignore[no-untyped-def]
    from kbserver.cli import main

    h = {"x-csrf-token": login(client, "operator1")}
    client.post(
        "/api/feedback",
        json={"document_id": "KB-0011", "ticket": "INC0000009", "helpful": True, "outcome": "resolved"},
        headers=h,
    )
    client.get("/api/search", params={"q": "zzzz nada"})
    assert client.get("/api/reports/documents").status_code == 403
    client.cookies.clear()
    login(client, "approver1")
    docs = client.get("/api/reports/documents").json()
    assert docs == [
        {
            "document_id": "KB-0011",
            "title": "La VPN no conecta",
            "owner": "marco.rossi",
            "last_change": docs[0]["last_change"],
            "uses": 1,
            "votes": 1,
            "helpful_rate": 1.0,
            "helpful_rate_since_change": 1.0,
            "first_contact_resolution": 1.0,
            "escalation_rate": 0.0,
            "open_flags": 0,
        }
    ]
    assert client.get("/api/reports/gaps").json()[0]["query"] == "zzzz nada"
    stale = client.get("/api/reports/stale").json()
    assert stale == [
        {
            "owner": "lucia.fernandez",
            "documents": [
                {
                    "document_id": "KB-0003",
                    "path": "docs/kb/cuentas/contrasena-caducada.md",
                    "why": stale[0]["documents"][0]["why"],
                }
            ],
        }
    ]
    assert client.get("/api/reports/kpis").json()[0]["tickets"] == 1
    [week] = client.get("/api/reports/usage").json()
    assert (week["votes"], week["helpful_rate"]) == (1, 1.0)
    assert client.get("/api/reports/usage", params={"to": "2020-01-01"}).json() == []
    unknown = client.get("/api/reports/nope")
    assert unknown.status_code == 422 and "deviations" in str(unknown.json()["error"])
    settings = app_services.settings
    args = [
        "--repo",
        str(settings.repo),
        "--data-dir",
        str(settings.data_dir),
        "--database-url",
        settings.resolved_database_url,
    ]
    assert main(["report", "documents", "--csv", *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("document_id,title,owner") and out[1].startswith(
        "KB-0011,La VPN no conecta,marco.rossi"
    )


def test_searches_nobody_opened_or_linked_are_content_gaps(client: TestClient) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    searches = {q: client.get("/api/search", params={"q": q}).json()["search_id"] for q in ("vpn", "correo")}
    ignored = client.get("/api/search", params={"q": "impresora"}).json()
    assert ignored["total"] > 0
    opened = client.post(f"/api/search/{searches['vpn']}/opened", json={"document_id": "KB-0011"}, headers=h)
    assert opened.status_code == 204
    linked = client.post(
        "/api/feedback",
        json={
            "document_id": "KB-0002",
            "ticket": "INC0000010",
            "helpful": True,
            "search_id": searches["correo"],
        },
        headers=h,
    )
    assert linked.status_code == 201
    unknown = client.post("/api/search/999999/opened", json={"document_id": "KB-0011"}, headers=h)
    assert unknown.status_code == 404 and "999999" in unknown.json()["error"]["message"]
    client.cookies.clear()
    login(client, "lead1")
    gaps = client.get("/api/reports/gaps").json()
    assert [(g["gap"], g["query"]) for g in gaps] == [("not_opened", "impresora")]


@pytest.mark.parametrize(
    "ticket",
    ["INC١٢٣٤٥٦٧", "INC１２３４５６７", "ınc0012345", "INC001234\u0663"],
)
def test_ticket_references_are_ascii(client: TestClient, app_services: Services, ticket: str) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    body = {"document_id": "KB-0001", "ticket": ticket, "helpful": True}
    refused = client.post("/api/feedback", json=body, headers=h)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_input"
    assert client.get(f"/api/tickets/{ticket}").status_code == 422
    assert app_services.feedback.for_document("KB-0001") == []


def test_csv_exports_defuse_formulas_in_operators_queries(
    client: TestClient, app_services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    from kbserver.cli import main

    login(client, "operator1")
    queries = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2 zzzz", "@SUM(A1)", "\tzzzz", "\rzzzz"]
    for query in queries:
        assert client.get("/api/search", params={"q": query}).status_code == 200
    client.cookies.clear()
    login(client, "approver1")
    download = client.get("/app/reports/gaps.csv")
    assert download.status_code == 200
    settings = app_services.settings
    common = ["--repo", str(settings.repo), "--data-dir", str(settings.data_dir)]
    assert main(["report", "gaps", "--csv", "--database-url", settings.resolved_database_url, *common]) == 0
    for text in (download.text, capsys.readouterr().out):
        rows = list(csv.DictReader(io.StringIO(text)))
        assert sorted(r["query"] for r in rows) == sorted("'" + q.lower() for q in queries)
    as_json = client.get("/api/reports/gaps").json()  # JSON is not a spreadsheet: its text is kept
    assert sorted(r["query"] for r in as_json) == sorted(q.lower() for q in queries)
