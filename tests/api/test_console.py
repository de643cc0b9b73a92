"""Console pages over HTTP: queues and actions, reports as SVG charts and CSV, new-document templates."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from approval.worddiff import word_diff
from kbserver.services import Services
from tests.api.conftest import login


def test_word_diff_marks_only_the_changed_words() -> None:
    lines = word_diff(
        "uno\nResponder en 30 segundos.\ntres\n", "uno\nResponder en 15 segundos.\ntres\ncuatro\n"
    )
    changed = [line for line in lines if line and line.kind == "change"]
    assert [(s.kind, s.text) for s in changed[0].segments if s.kind != "same"] == [
        ("del", "30"),
        ("ins", "15"),
    ]
    assert [line.segments[0].text for line in lines if line and line.kind == "ins"] == ["cuatro"]


def test_queues_act_on_flags_and_deviations(client: TestClient, app_services: Services) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    client.post(
        "/api/documents/KB-0002/flags", json={"reason": "outdated", "ticket": "INC0000001"}, headers=h
    )
    client.post(
        "/api/deviations",
        json={"script_id": "SCR-0001", "step": "1-saludo", "justification": "Usuario VIP, saludo en inglés"},
        headers=h,
    )
    assert client.get("/app/queues").status_code == 403
    client.cookies.clear()
    csrf = login(client, "lead1")
    page = client.get("/app/queues")
    assert page.status_code == 200 and "KB-0002" in page.text and "Usuario VIP" in page.text
    flag = app_services.flags.find(["open"])[0]["id"]
    deviation = app_services.deviations.find("pending")[0]["id"]
    no_reason = client.post(f"/app/flags/{flag}", data={"csrf_token": csrf})
    assert no_reason.status_code == 422
    dismissed = client.post(
        f"/app/flags/{flag}",
        data={"csrf_token": csrf, "dismiss": "ya está corregido"},
        follow_redirects=False,
    )
    assert dismissed.status_code == 303 and app_services.flags.find(["dismissed"])[0]["id"] == flag
    client.post(
        f"/app/deviations/{deviation}", data={"csrf_token": csrf, "verdict": "approve", "comment": "ok"}
    )
    assert app_services.deviations.find("approved")[0]["id"] == deviation
    forged = client.post(f"/app/flags/{flag}", data={"dismiss": "sin token"})
    assert forged.status_code == 403  # no CSRF field: refused


def test_reports_page_draws_charts_and_downloads_csv(client: TestClient) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    for ticket, helpful in (("INC0000001", True), ("INC0000002", False)):
        body = {"document_id": "KB-0011", "ticket": ticket, "helpful": helpful, "outcome": "resolved"}
        client.post("/api/feedback", json=body, headers=h)
    client.get("/api/search", params={"q": "zzzz nada"})
    assert client.get("/app/reports").status_code == 403
    client.cookies.clear()
    login(client, "approver1")
    page = client.get("/app/reports")
    assert page.status_code == 200 and page.text.count("<svg") >= 4 and "zzzz nada" in page.text
    assert "50%" in page.text  # one of two votes helpful
    download = client.get("/app/reports/usage.csv")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [(r["votes"], r["helpful_rate"]) for r in rows] == [("2", "0.5")]
    assert client.get("/app/reports/nope.csv").status_code == 422


def test_new_document_template_has_the_next_free_id(client: TestClient) -> None:
    login(client, "lead1")
    page = client.get("/app/new", params={"kind": "procedure"})
    assert page.status_code == 200 and "id: PROC-09" in page.text and "owner: lead1" in page.text
    check = client.post("/api/content/check", json={"path": "docs/procedures/nuevo.md", "text": "x"})
    assert check.status_code == 403  # a cookie session needs its CSRF token even to preview
