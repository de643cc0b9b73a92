"""Readiness (issue 13, Health): 503 naming what is missing until the service can answer, then 200."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

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
