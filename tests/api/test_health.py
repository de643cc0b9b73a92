"""Readiness (issue 13, Health): 503 naming what is missing until the service can answer, then 200."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from httpx2 import Response

from kbserver.api.app import create_app
from kbserver.repository import ContentRepository
from kbserver.services import Services
from kbserver.settings import Settings


def _settings(tmp_path: Path, content_repo: ContentRepository) -> Settings:
    # No background site build: the test decides when the first site exists.
    return Settings(
        repo=content_repo.path,
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'state.db'}",
        site_autobuild=False,
    )


def test_not_ready_before_the_first_site_build_then_ready(
    tmp_path: Path, content_repo: ContentRepository, built_site: tuple[str, Path]
) -> None:
    services = Services.open(_settings(tmp_path, content_repo))
    try:
        with TestClient(create_app(services.settings, services)) as client:
            services.wait_for_background()  # the index has caught up; no site was built
            before = client.get("/api/health/ready")
            assert before.status_code == 503
            assert before.json()["status"] == "not_ready"
            assert before.json()["not_ready"] == ["site"]
            assert before.json()["checks"]["site"] == {"ready": False, "detail": "no site built yet"}
            assert client.get("/api/health").status_code == 200  # liveness is not readiness

            commit, template = built_site
            assert commit == services.main_commit()
            shutil.copytree(template, services.site.root, symlinks=True)
            after = client.get("/api/health/ready")
            assert after.status_code == 200, after.text
            assert after.json()["status"] == "ready"
            assert after.json()["not_ready"] == []
            assert after.headers["cache-control"] == "no-store"
    finally:
        services.close()


def test_not_ready_with_a_missing_index_or_a_silent_state_store(
    tmp_path: Path, content_repo: ContentRepository, built_site: tuple[str, Path]
) -> None:
    services = Services.open(_settings(tmp_path, content_repo))
    shutil.copytree(built_site[1], services.site.root, symlinks=True)
    try:
        with TestClient(create_app(services.settings, services)) as client:
            services.wait_for_background()
            assert client.get("/api/health/ready").status_code == 200

            shutil.rmtree(services.index.root)
            missing = client.get("/api/health/ready")
            assert missing.status_code == 503
            assert missing.json()["not_ready"] == ["index"]
            assert "index at nothing" in missing.json()["checks"]["index"]["detail"]

            services.catch_up_index()
            assert client.get("/api/health/ready").status_code == 200

            services.engine.dispose()
            (tmp_path / "state.db").unlink()  # an empty store in its place answers no schema
            silent = client.get("/api/health/ready")
            assert silent.status_code == 503
            assert silent.json()["not_ready"] == ["state_store"]
    finally:
        services.close()


def test_readiness_needs_no_login_and_is_in_the_openapi(client: TestClient) -> None:
    assert client.get("/api/health/ready").status_code == 200
    spec = client.app.openapi()  # type: ignore[attr-defined]
    answers = spec["paths"]["/api/health/ready"]["get"]["responses"]
    assert set(answers) >= {"200", "503"}
    assert answers["503"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Readiness"
    }


def _until(client: TestClient, path: str, done: Callable[[Response], bool], seconds: float = 60) -> Response:
    deadline = time.monotonic() + seconds
    answer = client.get(path)
    while not done(answer) and time.monotonic() < deadline:
        time.sleep(0.02)
        answer = client.get(path)
    return answer


def test_readyz_answers_503_naming_what_is_missing_until_the_site_is_built_then_200(
    tmp_path: Path, content_repo: ContentRepository, built_site: tuple[str, Path]
) -> None:
    settings = _settings(tmp_path, content_repo).model_copy(update={"health_interval": 0.05})
    services = Services.open(settings)
    try:
        with TestClient(create_app(services.settings, services)) as client:
            first = client.get("/readyz")  # before or while the first check and the index catch up
            assert first.status_code == 503 and "site" in first.json()["not_ready"]
            assert client.get("/livez").json() == {"status": "alive"}  # live long before ready

            before = _until(client, "/readyz", lambda r: r.json()["not_ready"] == ["site"])
            assert before.status_code == 503
            assert before.json()["status"] == "not_ready"
            assert before.json()["checks"]["site"] == {"ready": False, "detail": "no site built yet"}
            assert (
                before.json()["checks"]["index"]["ready"] and before.json()["checks"]["state_store"]["ready"]
            )
            assert before.headers["cache-control"] == "no-store"

            shutil.copytree(built_site[1], services.site.root, symlinks=True)  # the site of main appears
            after = _until(client, "/readyz", lambda r: r.status_code != 503, seconds=10)
            assert after.status_code == 200, after.text
            assert after.json()["status"] == "ready" and after.json()["not_ready"] == []
    finally:
        services.close()


def test_readyz_answers_from_memory_in_under_a_millisecond_without_git(
    tmp_path: Path, content_repo: ContentRepository, built_site: tuple[str, Path]
) -> None:
    # An hour between background checks: whatever /readyz says below, it did not check it itself.
    settings = _settings(tmp_path, content_repo).model_copy(update={"health_interval": 3600.0})
    services = Services.open(settings)
    shutil.copytree(built_site[1], services.site.root, symlinks=True)
    try:
        with TestClient(create_app(services.settings, services)) as client:
            services.wait_for_background()
            assert client.get("/api/health/ready").status_code == 200  # checks now, and remembers it

            hidden = tmp_path / "content-away"
            content_repo.path.rename(hidden)  # git cannot answer any more
            for _ in range(300):
                answer = client.get("/readyz")
                assert answer.status_code == 200 and answer.json()["status"] == "ready"
            assert client.get("/livez").status_code == 200
            registry = services.metrics.registry
            labels = {"method": "GET", "route": "/readyz"}
            count = registry.get_sample_value("kb_http_request_duration_seconds_count", labels)
            fast = registry.get_sample_value(
                "kb_http_request_duration_seconds_bucket", {**labels, "le": "0.001"}
            )
            assert count == 300 and fast is not None
            assert fast >= 0.9 * count, f"{fast:.0f} of {count:.0f} answered in under 1 ms"

            services.readiness.poke()  # the background check sees the repository gone
            gone = _until(client, "/readyz", lambda r: r.status_code == 503, seconds=10)
            assert gone.json()["not_ready"] == ["index"]
            assert gone.json()["checks"]["index"]["detail"] == "the content repository does not answer"
            hidden.rename(content_repo.path)
    finally:
        services.close()


def test_liveness_and_readiness_need_no_login_and_are_in_the_openapi(client: TestClient) -> None:
    assert client.get("/livez").status_code == 200
    assert _until(client, "/readyz", lambda r: r.status_code == 200, seconds=30).status_code == 200
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert set(paths["/readyz"]["get"]["responses"]) >= {"200", "503"}
    assert set(paths["/livez"]["get"]["responses"]) >= {"200"}
