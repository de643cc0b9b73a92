"""An app on the test settings, and logged-in clients for each role."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.repository import ContentRepository
from kbserver.services import Services
from kbserver.site import Site

PASSWORD = "s3cret-password"
ROLES = ("operator", "lead", "approver", "admin")


@pytest.fixture(scope="session")
def built_site(seeded_repo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The starter content's site, built once by the real build; each app gets a copy of it."""
    repo = ContentRepository(seeded_repo_template)
    commit = repo.head("main") or ""
    root = tmp_path_factory.mktemp("built-site") / "site"
    Site(root).build(repo, commit)
    return commit, root


@pytest.fixture
def app_services(services: Services, built_site: tuple[str, Path]) -> Services:
    for role in ROLES:
        services.users.add(f"{role}1", role, PASSWORD)
    commit, template = built_site
    if services.main_commit() == commit and not services.site.root.exists():
        shutil.copytree(template, services.site.root, symlinks=True)  # the same commit: the same site
    services.site.build(services.repository, services.main_commit() or "")
    services.catch_up_index()
    return services


@pytest.fixture
def client(app_services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(app_services.settings, app_services)) as test_client:
        yield test_client


def login(client: TestClient, name: str) -> str:
    """Log client in as name; returns the session's CSRF token."""
    response = client.post("/api/session", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])
