"""An app on the test settings, and logged-in clients for each role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.services import Services

PASSWORD = "s3cret-password"
ROLES = ("operator", "lead", "approver", "admin")


@pytest.fixture
def app_services(services: Services) -> Services:
    for role in ROLES:
        services.users.add(f"{role}1", role, PASSWORD)
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
