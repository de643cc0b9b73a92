"""A bounded fuzz run over the OpenAPI for every role: whatever is sent, the answer is never a 5xx."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from kbserver.api.app import create_app
from kbserver.repository import ContentRepository
from kbserver.services import Services
from kbserver.settings import Settings
from tests.api.conftest import PASSWORD, ROLES

SECONDS_PER_ROLE = 12.0  # five roles: about a minute in all
MAX_EXAMPLES = 5_000  # an upper bound only; the clock ends each run first


@dataclass
class Failures:
    """5xx answers seen, with the server's traceback."""

    found: list[str] = field(default_factory=list)
    seen: set[tuple[str, str, int]] = field(default_factory=set)


class _Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@pytest.fixture(scope="module")
def fuzz_services(seeded_repo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(seeded_repo_template, root / "content", symlinks=True)
    services = Services.open(
        Settings(
            repo=root / "content",
            data_dir=root / "data",
            database_url=f"sqlite:///{root / 'state.db'}",
            site_autobuild=False,
        )
    )
    ContentRepository(root / "content")
    for role in ROLES:
        services.users.add(f"{role}1", role, PASSWORD)
    services.catch_up_index()
    yield services
    services.wait_for_background()
    services.close()


@pytest.fixture(scope="module")
def fuzz_client(fuzz_services: Services) -> Iterator[TestClient]:
    app = create_app(fuzz_services.settings, fuzz_services)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _send(client: TestClient, kwargs: dict[str, Any]) -> Any:
    data = kwargs.pop("data", None)
    if isinstance(data, str | bytes):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    kwargs.pop("auth", None)
    kwargs.pop("verify", None)
    cookies = kwargs.pop("cookies", None) or {}
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    return client.request(**kwargs)


@pytest.mark.parametrize("role", [*ROLES, "anonymous"])
def test_no_5xx_for_any_request(role: str, fuzz_client: TestClient, fuzz_services: Services) -> None:
    app = fuzz_client.app
    schema = schemathesis.openapi.from_dict(app.openapi())  # type: ignore[attr-defined]
    strategy = schema.as_strategy(GenerationMode.POSITIVE) | schema.as_strategy(GenerationMode.NEGATIVE)
    token = None if role == "anonymous" else fuzz_services.users.issue_token(f"{role}1")
    auth = {"authorization": f"Bearer {token}"} if token else {}
    failures = Failures()
    tracebacks = _Tracebacks()
    logging.getLogger("kbserver").addHandler(tracebacks)
    stop = time.monotonic() + SECONDS_PER_ROLE
    count = [0]

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        if time.monotonic() > stop:
            return
        count[0] += 1
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        kwargs["headers"] = {**kwargs.get("headers", {}), **auth}
        before = len(tracebacks.records)
        response = _send(fuzz_client, kwargs)
        if response.status_code >= 500:
            key = (case.method, case.operation.path, response.status_code)
            if key not in failures.seen:
                failures.seen.add(key)
                trace = "\n".join(tracebacks.records[before:])
                failures.found.append(
                    f"{case.method} {kwargs['url']} params={kwargs.get('params')} "
                    f"body={kwargs.get('json', kwargs.get('content', kwargs.get('data')))!r} "
                    f"-> {response.status_code}\n{trace}"
                )

    try:
        run()
    finally:
        logging.getLogger("kbserver").removeHandler(tracebacks)
    print(f"{role}: {count[0]} requests")
    assert not failures.found, "\n\n".join(failures.found)
