"""Metrics (issue 13): /metrics in the Prometheus text format, behind the metrics token or an admin, with the
series operations watch: requests and latency by route template, search latency and result counts, the
index's lag behind main, site builds and their failures, votes, flags and the state store's write waits."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from kbserver.services import Services
from kbserver.settings import Settings
from tests.api.conftest import login

TOKEN = "scrape-7b1f4c2a9e"
NEW_PAGE = "docs/kb/red-vpn/metricas.md"
PAGE = """---
id: KB-0950
title: Métricas de prueba
lang: es
owner: mesa
tags: [red]
audience: L1
review_by: 2030-01-01
status: active
---

# Métricas de prueba

Ver [la página que falta](no-existe.md).
"""


@pytest.fixture
def settings(tmp_path: Path, content_repo: ContentRepository) -> Settings:
    """The test settings with a metrics token."""
    return Settings(
        repo=content_repo.path,
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 's.db'}",
        metrics_token=TOKEN,
    )


def _scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_need_the_token_or_an_admin(client: TestClient, app_services: Services) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and "KB_METRICS_TOKEN" in wrong.json()["error"]["message"]
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    login(client, "operator1")
    assert client.get("/metrics").status_code == 403
    client.cookies.clear()
    login(client, "admin1")
    assert client.get("/metrics").status_code == 200
    client.cookies.clear()
    _, admin_token = app_services.users.new_token("admin1", "prometheus")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {admin_token}"}).status_code == 200
    _, lead_token = app_services.users.new_token("lead1", "prometheus")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {lead_token}"}).status_code == 403


def test_requests_are_counted_by_route_template(client: TestClient) -> None:
    before = _scrape(client)
    csrf = login(client, "operator1")
    for number in (1, 2, 3):
        assert client.get(f"/api/changes/{number}").status_code == 404
    assert client.post("/api/nothing/here", headers={"x-csrf-token": csrf}).status_code in (404, 405)
    after = _scrape(client)
    template = {"method": "GET", "route": "/api/changes/{number}", "status": "404"}
    assert (
        _value(after, "kb_http_requests_total", **template)
        - _value(before, "kb_http_requests_total", **template)
        == 3
    )
    assert (
        _value(after, "kb_http_request_duration_seconds_count", method="GET", route="/api/changes/{number}")
        == 3
    )
    routes = {dict(labels).get("route") for _, labels in after}
    assert not any(route and route.startswith("/api/changes/") and route[-1].isdigit() for route in routes)
    assert "/api/nothing/here" not in routes


def test_the_named_series_are_present(client: TestClient, app_services: Services) -> None:
    h = {"x-csrf-token": login(client, "operator1")}
    found = client.get("/api/search", params={"q": "vpn"}).json()
    assert client.get("/api/search", params={"q": "zzzqqqxxx"}).json()["total"] == 0
    document = found["results"][0]["id"]
    vote = {"document_id": document, "helpful": True, "ticket": "INC0012345"}
    assert client.post("/api/feedback", json=vote, headers=h).status_code == 201
    assert client.post("/api/feedback", json={**vote, "helpful": False}, headers=h).status_code in (200, 201)
    flag = {"reason": "outdated", "comment": "la versión cambió"}
    assert client.post(f"/api/documents/{document}/flags", json=flag, headers=h).status_code == 201

    # main moves ahead of the index: the lag shows, then goes back to 0 once the index catches up.
    repo = app_services.repository
    main = repo.head("main")
    broken = repo.commit_files("main", {NEW_PAGE: PAGE.encode()}, "A page", SERVICE_AUTHOR, main)
    admin = app_services.users.get("admin1")
    app_services.publisher.accept(admin, broken, "a commit around the workflow, for the test")
    app_services.readiness.refresh()
    lagging = _scrape(client)
    assert _value(lagging, "kb_index_lag_commits") == 1
    assert _value(lagging, "kb_index_lag_seconds") >= 0
    app_services.catch_up()  # the index catches up; the site build fails on the broken link (--strict)
    app_services.wait_for_background()
    fixed_page = PAGE.replace("[la página que falta](no-existe.md)", "la página")
    fixed = repo.commit_files("main", {NEW_PAGE: fixed_page.encode()}, "Fix the link", SERVICE_AUTHOR, broken)
    app_services.publisher.accept(admin, fixed, "a commit around the workflow, for the test")
    app_services.catch_up()
    app_services.wait_for_background()
    app_services.readiness.refresh()

    samples = _scrape(client)
    assert _value(samples, "kb_search_duration_seconds_count") == 2
    assert _value(samples, "kb_search_results_count") == 2
    assert _value(samples, "kb_search_results_bucket", le="0.0") == 1  # the search that found nothing
    assert _value(samples, "kb_search_results_sum") == found["total"]
    assert _value(samples, "kb_votes_total", helpful="true") == 1
    assert _value(samples, "kb_votes_total", helpful="false") == 1
    assert _value(samples, "kb_flags_total", reason="outdated") == 1
    assert _value(samples, "kb_store_write_wait_seconds_count") >= 4  # two votes and two logged searches
    assert _value(samples, "kb_index_lag_commits") == 0 and _value(samples, "kb_index_lag_seconds") == 0
    assert _value(samples, "kb_index_update_duration_seconds_count", action="updated") == 2
    assert _value(samples, "kb_site_build_failures_total") == 1
    assert _value(samples, "kb_site_build_duration_seconds_count") == 1
    assert _value(samples, "kb_site_build_duration_seconds_sum") > 0
    assert app_services.site.served_commit() == repo.head("main")
    for name in (
        "kb_http_requests_total",
        "kb_http_request_duration_seconds_bucket",
        "kb_search_duration_seconds_bucket",
    ):
        assert any(sample == name for sample, _ in samples), name
