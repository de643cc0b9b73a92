"""The API contract: each operation declares its body and its errors, lists come in pages, what a POST creates
has a Location, and feedback says whether it created or updated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.services import Services
from tests.api.conftest import login

ERROR_REF = "#/components/schemas/ErrorBody"
STEP = "3-pregunta-de-verificacion"
LISTS = {
    "/api/changes",
    "/api/flags",
    "/api/flags/mine",
    "/api/deviations",
    "/api/users",
    "/api/users/{name}/tokens",
    "/api/tickets/{ref}",
    "/api/changes/{number}/events",
    "/api/documents/{doc_id}/tickets",
    "/api/documents/{doc_id}/history",
    "/api/servicenow/gaps",
    "/api/acks",
    "/api/acks/people",
    "/api/acks/mine",
}


def _operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    return [(m.upper(), p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def test_every_operation_declares_its_body_and_each_error_in_the_one_shape(app_services: Services) -> None:
    client = TestClient(create_app(app_services.settings, app_services))
    spec = client.app.openapi()  # type: ignore[attr-defined]
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's 422 is not what we send
    for method, path, op in _operations(client):
        where = f"{method} {path}"
        answers = op["responses"]
        success = [code for code in answers if code.startswith("2")]
        assert success, where
        for code in success:
            if code == "204":
                continue
            content = answers[code].get("content", {})
            if "application/json" not in content:  # a download (PDF, metrics text) declares its media type
                assert content, f"{where}: {code} declares no media type"
                continue
            schema = content["application/json"]["schema"]
            assert schema.get("$ref") or schema.get("items") or schema.get("anyOf"), f"{where}: {schema}"
        for code, answer in answers.items():
            if code.startswith("4"):
                assert answer["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, where
        if any(p["in"] in ("path", "query") for p in op.get("parameters", [])) or "requestBody" in op:
            assert "422" in answers, f"{where} takes input, so it can answer 422"
        if path.startswith(("/api/changes", "/api/users", "/api/flags", "/api/deviations", "/api/feedback")):
            assert "401" in answers, f"{where} needs a login"
        if method == "GET" and path in LISTS:
            assert {"limit", "offset"} <= {p["name"] for p in op["parameters"]}, where
            assert {"X-Total-Count", "Link"} <= set(answers["200"]["headers"]), where
    assert {path for method, path, op in _operations(client) if "X-Total-Count" in str(op)} == LISTS


def test_the_declared_422_is_what_the_server_sends(client: TestClient) -> None:
    h = {"x-csrf-token": login(client, "lead1")}
    refused = client.post("/api/changes", json={"title": "x"}, headers=h)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_input" and error["details"][0]["field"] == "title"
    spec = client.app.openapi()  # type: ignore[attr-defined]
    declared = spec["paths"]["/api/changes"]["post"]["responses"]["422"]["content"]["application/json"]
    assert declared["schema"] == {"$ref": ERROR_REF}
    assert set(spec["components"]["schemas"]["ErrorInfo"]["properties"]) == set(error)


def test_lists_come_in_pages_with_the_total_and_a_next_link(client: TestClient) -> None:
    h = {"x-csrf-token": login(client, "lead1")}
    numbers = [
        client.post("/api/changes", json={"title": f"Cambio {n}"}, headers=h).json()["number"]
        for n in range(3)
    ]
    everything = client.get("/api/changes")
    assert [c["number"] for c in everything.json()] == numbers[::-1]  # old clients: the whole list, as before
    assert everything.headers["x-total-count"] == "3" and "link" not in everything.headers
    first = client.get("/api/changes", params={"limit": 2})
    assert [c["number"] for c in first.json()] == numbers[:0:-1] and first.headers["x-total-count"] == "3"
    following = first.headers["link"]
    assert following.endswith('>; rel="next"') and "offset=2" in following
    rest = client.get(following[1 : following.index(">")])
    assert [c["number"] for c in rest.json()] == numbers[:1] and "link" not in rest.headers
    events = client.get(f"/api/changes/{numbers[0]}/events", params={"limit": 1, "offset": 0})
    assert len(events.json()) == 1 and events.headers["x-total-count"] == "1"
    assert client.get("/api/changes", params={"limit": 0}).status_code == 422
    assert client.get("/api/changes", params={"offset": -1}).status_code == 422


def test_what_a_post_creates_has_a_location_that_answers(client: TestClient) -> None:
    h = {"x-csrf-token": login(client, "admin1")}
    made = {
        "change": client.post("/api/changes", json={"title": "Un cambio"}, headers=h),
        "user": client.post("/api/users", json={"name": "nuria", "role": "operator"}, headers=h),
        "flag": client.post("/api/documents/KB-0001/flags", json={"reason": "unclear"}, headers=h),
        "deviation": client.post(
            "/api/deviations",
            json={"script_id": "SCR-0001", "step": STEP, "justification": "Sin voz"},
            headers=h,
        ),
        "feedback": client.post("/api/feedback", json={"document_id": "KB-0001", "helpful": True}, headers=h),
    }
    for what, answer in made.items():
        assert answer.status_code == 201, (what, answer.text)
        fetched = client.get(answer.headers["location"])
        assert fetched.status_code == 200 and fetched.json() == answer.json(), what


def test_feedback_answers_201_when_it_creates_and_200_when_it_updates(client: TestClient) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    body = {"document_id": "KB-0002", "ticket": "INC0012345", "helpful": False}
    first = client.post("/api/feedback", json=body, headers=h)
    again = client.post("/api/feedback", json={**body, "helpful": True}, headers=h)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["helpful"] is True
    assert "location" not in again.headers
    for stamp in (again.json()["created_at"], again.json()["updated_at"]):
        assert datetime.fromisoformat(stamp).tzinfo is not None  # SQLite too: time-zone-aware


def test_operators_see_only_their_own_records(client: TestClient) -> None:
    h = {"x-csrf-token": login(client, "lead1")}
    flag = client.post("/api/documents/KB-0001/flags", json={"reason": "unclear"}, headers=h).json()
    client.cookies.clear()
    login(client, "operator1")
    assert client.get(f"/api/flags/{flag['id']}").status_code == 403
    assert client.get("/api/users/lead1").status_code == 403
    assert client.get("/api/users/operator1").json()["role"] == "operator"
    assert client.get("/api/flags/999999").status_code == 404
