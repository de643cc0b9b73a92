"""A bounded fuzz run over the OpenAPI for every role: whatever is sent, the answer is never a 5xx, and it
conforms to the schema (a declared status code, content type, headers and body)."""

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
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kbserver.api.app import create_app
from kbserver.services import Services
from kbserver.settings import Settings
from tests.api.conftest import PASSWORD, ROLES

# Five roles, about a minute in all. A request takes about 10 ms here and generating it about as long;
# Hypothesis has no clock of its own, so the count bounds each run, and the clock stops the requests if a
# slower machine would take much longer (the examples left are then only generated).
MAX_EXAMPLES = 600
# The readiness checks' documented answer while the site or index is not there yet (this app builds no site).
EXPECTED_5XX = {("GET", "/api/health/ready", 503), ("GET", "/readyz", 503)}
SECONDS_PER_ROLE = 15.0
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass
class Failures:
    """5xx answers seen, with the server's traceback, and answers that do not conform to the schema."""

    found: list[str] = field(default_factory=list)
    seen: set[tuple[Any, ...]] = field(default_factory=set)


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
        _seed(client, fuzz_services)
        yield client


def _seed(client: TestClient, services: Services) -> None:
    """A record of each kind, numbered 1 and 2, so that the small numbers the fuzzer likes find something."""
    lead = {"authorization": f"Bearer {services.users.issue_token('lead1')}"}
    path = "docs/kb/red-vpn/vpn-lenta.md"
    deviation = {"script_id": "SCR-0001", "step": "3-pregunta-de-verificacion", "justification": "Sin voz"}
    for n in range(2):
        change = client.post("/api/changes", json={"title": f"Cambio {n}"}, headers=lead).json()
        head = change["head_commit"]
        text = (services.repository.read(head, path) or b"").decode() + "\nMás.\n"
        done = client.post(
            f"/api/changes/{change['number']}/commits",
            json={"changes": {path: text}, "expected_head": head},
            headers=lead,
        )
        assert done.status_code == 200, done.text
        client.post("/api/documents/KB-0001/flags", json={"reason": "unclear"}, headers=lead)
        client.post("/api/deviations", json=deviation, headers=lead)
        client.get("/api/search", params={"q": "vpn"}, headers=lead)


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
        key = (case.method, case.operation.path, response.status_code)
        if response.status_code >= 500 and key not in EXPECTED_5XX and key not in failures.seen:
            failures.seen.add(key)
            trace = "\n".join(tracebacks.records[before:]).splitlines()[-12:]  # the innermost frames
            failures.found.append(
                f"{case.method} {kwargs['url']} params={kwargs.get('params')} "
                f"body={kwargs.get('json', kwargs.get('content', kwargs.get('data')))!r} "
                f"-> {response.status_code}\n" + "\n".join(trace)
            )
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except FailureGroup as group:  # each failed check, with the response
            kinds = tuple(sorted({type(f).__name__ for f in group.exceptions}))
            if (*key, kinds) not in failures.seen:
                failures.seen.add((*key, kinds))
                failures.found.append(
                    f"{case.method} {kwargs['url']} -> {response.status_code}\n{group}"[:1500]
                )

    try:
        run()
    finally:
        logging.getLogger("kbserver").removeHandler(tracebacks)
    print(f"{role}: {count[0]} requests")
    assert not failures.found, "\n\n".join(failures.found)
