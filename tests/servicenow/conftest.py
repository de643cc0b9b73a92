"""The ServiceNow stand-in, started on loopback for each test, and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
