"""What the fuzzer found as 5xx answers: numbers past 64 bits, and health while a corrupt index is rebuilt."""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kbserver.services import Services

TICKET = "INC0000001"
HUGE = (2**63, 10**30)  # one past SQLite's largest integer, and far past it


def _integer_path_operations(client: TestClient) -> list[tuple[str, str]]:
    spec: dict[str, Any] = client.get("/api/openapi.json", headers=_admin(client)).json()
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            if any(p["in"] == "path" and p["schema"].get("type") == "integer" for p in params):
                found.append((method.upper(), path))
    return found


def _admin(client: TestClient) -> dict[str, str]:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return {"authorization": f"Bearer {services.users.issue_token('admin1')}"}


@pytest.mark.parametrize("number", HUGE)
def test_numbers_past_64_bits_are_refused_not_500(client: TestClient, number: int) -> None:
    admin = _admin(client)
    operations = _integer_path_operations(client)
    assert len(operations) >= 16  # the change requests' steps, search, flags and deviations
    for method, template in operations:
        path = re.sub(r"\{[^}]+\}", str(number), template)
        body: dict[str, Any] = {"body": "x", "approve": True, "document_id": "KB-0001"}
        if path.endswith("/commits"):
            body = {"changes": {}, "expected_head": "0" * 40, "message": "m"}
        response = client.request(method, path, json=body, headers=admin)
        assert response.status_code in (404, 422), (method, path, response.text)
        assert response.json()["error"]["code"] in ("not_found", "invalid_input")
    flag = client.post("/api/documents/KB-0001/flags", json={"reason": "unclear"}, headers=admin).json()
    for path, body in (
        (f"/api/flags/{flag['id']}/resolve", {"change": number}),
        ("/api/feedback", {"document_id": "KB-0001", "helpful": True, "search_id": number, "ticket": TICKET}),
    ):
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == 422, (path, response.text)


def test_health_answers_while_a_corrupt_index_is_rebuilt(client: TestClient, app_services: Services) -> None:
    generation = app_services.index.generation()
    assert generation is not None
    for damaged in [generation / "COMMIT", *(generation / "index").iterdir()]:
        damaged.write_bytes(os.urandom(64))  # a disk that returned garbage
    damaged_now = client.get("/api/health")
    assert damaged_now.status_code == 200, damaged_now.text
    assert damaged_now.json()["index"] == {"commit": None, "ready": False}
    answers: list[tuple[int, dict[str, Any]]] = []
    rebuilt = threading.Event()

    def rebuild() -> None:
        try:
            app_services.catch_up_index()
        finally:
            rebuilt.set()

    worker = threading.Thread(target=rebuild)
    worker.start()
    while not rebuilt.is_set() or not answers:
        response = client.get("/api/health")
        answers.append((response.status_code, response.json()))
    worker.join()
    assert {status for status, _ in answers} == {200}, answers[:3]
    after = client.get("/api/health").json()
    assert after["index"] == {"commit": app_services.main_commit(), "ready": True}
