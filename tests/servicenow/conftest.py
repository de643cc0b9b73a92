"""The ServiceNow stand-in, started on loopback for each test, and settings that point at it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.repository import ContentRepository
from kbserver.services import Services
from kbserver.settings import Settings
from tests.servicenow.standin import StandIn


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A fresh stand-in instance with the desk's groups."""
    server = StandIn().start()
    server.insert("sys_user_group", sys_id="grp-desk", name="Service Desk")
    server.insert("sys_user_group", sys_id="grp-desk-en", name="Service Desk EN")
    server.insert("sys_user_group", sys_id="grp-network", name="Network L3")
    yield server
    server.stop()


def connect_settings(settings: Settings, standin: StandIn, **more: object) -> Settings:
    """The test settings, with the connector pointed at the stand-in (basic auth unless more says)."""
    values: dict[str, object] = {
        "servicenow_url": standin.url,
        "servicenow_user": standin.user,
        "servicenow_password": standin.password,
        "servicenow_desk_groups": "Service Desk, Service Desk EN",
        "servicenow_timeout": 1.0,
        "servicenow_retry_seconds": 0.05,
        "servicenow_pull_minutes": 0,
        **more,
    }
    return Settings(**{**settings.model_dump(), **values})


FEEDBACK = {"document_id": "KB-0001", "ticket": "INC0000001", "helpful": True, "outcome": "resolved"}


@pytest.fixture
def linked(tmp_path: Path, content_repo: ContentRepository, database_url: str, standin: StandIn) -> Settings:
    """Settings with the integration on (mirroring too), on the parametrised store."""
    standin.insert("incident", short_description="VPN no conecta", assignment_group="grp-desk")
    base = Settings(
        repo=content_repo.path,
        data_dir=tmp_path / "data",
        database_url=database_url,
        site_autobuild=False,
        public_url="https://kb.example.test/",
    )
    return connect_settings(base, standin, servicenow_mirror_articles=True)


@contextmanager
def running(settings: Settings) -> Iterator[tuple[Services, TestClient, dict[str, str]]]:
    """The service as `kb serve` runs it, with its background worker; stopped on leaving."""
    services = Services.open(settings)
    if not services.users.list():
        services.users.add("ana", "operator", None)
        services.users.add("root", "admin", None)
    services.catch_up_index()
    tokens = {name: services.users.new_token(name, "test")[1] for name in ("ana", "root")}
    try:
        with TestClient(create_app(settings, services)) as client:
            # The catch-up runs git in a thread, and subprocess's os.get_exec_path() swaps the process's
            # warning filters while FastAPI builds a route under its own: wait, so that no warning leaks.
            services.wait_for_background()
            yield services, client, {n: f"Bearer {t}" for n, t in tokens.items()}
    finally:
        services.close()


def until(condition: Callable[[], object], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def feedback(client: TestClient, auth: str, body: dict[str, object] = FEEDBACK) -> float:
    started = time.monotonic()
    response = client.post("/api/feedback", json=body, headers={"Authorization": auth})
    assert response.status_code in (200, 201), response.text  # 200: the same vote again, updated
    return time.monotonic() - started
