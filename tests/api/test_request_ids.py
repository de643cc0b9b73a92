"""Request ids (issue 13, Logs): every answer carries X-Request-ID, a sane one from the caller is kept, and
the lines the service writes while it serves a request (a merge, the index update it causes) carry it."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kbserver.logs import configure_logging
from kbserver.services import Services
from tests.api.conftest import login

PROC = "docs/procedures/06-calidad.md"
NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_logs() -> Iterator[None]:
    """The service's logging at info as JSON lines, as `kb serve` sets it up; the test run's own after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("info", "json")
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_every_answer_carries_a_request_id(client: TestClient) -> None:
    first = client.get("/livez").headers["x-request-id"]
    second = client.get("/livez").headers["x-request-id"]
    assert NEW_ID.fullmatch(first) and NEW_ID.fullmatch(second) and first != second
    # Errors too: the id is what an operator quotes when something failed.
    for method, path, status in [
        ("GET", "/app/static/nothing.css", 404),
        ("GET", "/api/changes", 401),
        ("POST", "/api/session", 422),
    ]:
        answer = client.request(method, path, json={})
        assert answer.status_code == status
        assert NEW_ID.fullmatch(answer.headers["x-request-id"])


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("9f1c2d3e-0000-4a4a-8b8b-123456789abc", True),
        ("lb-7:trace/42+a=b.c_d", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("two words", False),
        ('quote"injected', False),
        ("-starts-with-a-dash", False),
    ],
)
def test_a_sane_incoming_id_is_kept_and_any_other_replaced(client: TestClient, sent: str, kept: bool) -> None:
    answer = client.get("/livez", headers={"X-Request-ID": sent})
    assert len(answer.headers.get_list("x-request-id")) == 1
    assert (answer.headers["x-request-id"] == sent) is kept
    if not kept:
        assert NEW_ID.fullmatch(answer.headers["x-request-id"])


def _approved_change(client: TestClient, services: Services) -> int:
    h = {"x-csrf-token": login(client, "lead1")}
    change = client.post("/api/changes", json={"title": "Calidad: objetivo"}, headers=h).json()
    n, head = change["number"], change["head_commit"]
    text = (services.repository.read(head, PROC) or b"").decode() + "\n## Objetivo nuevo\n\nTexto.\n"
    client.post(f"/api/changes/{n}/commits", json={"changes": {PROC: text}, "expected_head": head}, headers=h)
    assert client.post(f"/api/changes/{n}/submit", headers=h).status_code == 200
    client.cookies.clear()
    h = {"x-csrf-token": login(client, "approver1")}
    assert (
        client.post(f"/api/changes/{n}/approve", json={"body": "ok"}, headers=h).json()["state"] == "approved"
    )
    client.cookies.clear()
    return int(n)


def test_a_merge_and_its_index_update_are_logged_at_info_with_durations_and_the_request_id(
    client: TestClient, app_services: Services, json_logs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    n = _approved_change(client, app_services)
    csrf = login(client, "lead1")
    capsys.readouterr()
    merged = client.post(
        f"/api/changes/{n}/merge", headers={"x-csrf-token": csrf, "X-Request-ID": "merge-probe-1"}
    )
    assert merged.status_code == 200 and merged.headers["x-request-id"] == "merge-probe-1"
    commit = merged.json()["merged_commit"]
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    mine = [line for line in lines if line.get("request_id") == "merge-probe-1"]
    [merge] = [line for line in mine if line["message"].startswith("merge: ")]
    assert merge["level"] == "INFO" and merge["logger"] == "approval.workflow"
    assert merge["message"].startswith(f"merge: CR-{n} merged into main as {commit[:12]} by lead1 (")
    assert merge["change_request"] == n and merge["commit"] == commit and merge["seconds"] >= 0
    [index] = [line for line in mine if line["message"].startswith("search index updated to")]
    assert index["level"] == "INFO" and index["commit"] == commit and index["files"] == 1
    assert index["seconds"] >= 0
