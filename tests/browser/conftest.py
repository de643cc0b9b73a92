"""A real server on loopback and Debian's Chromium, headless; failures save a screenshot and the console."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from kbserver.api.app import create_app
from kbserver.services import Services

PASSWORD = "browser-password"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str | None:
    """Debian's Chromium; in CI it must be there."""
    path = os.environ.get("KB_TEST_CHROMIUM") or shutil.which("chromium")
    if path is None and os.environ.get("CI") == "true":
        pytest.fail("CI=true but chromium is not installed")
    return path


@pytest.fixture
def live_server(services: Services) -> Iterator[str]:
    """The service on a free loopback port, with one user per role and a built site."""
    for role in ("operator", "lead", "approver", "admin"):
        services.users.add(f"{role}1", role, PASSWORD)
    services.site.build(services.repository, services.main_commit() or "")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(services.settings, services), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    """A Chromium page; on failure its screenshot and console log go to test-artifacts/."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        context = browser.new_context(locale="es-ES")
        new_page = context.new_page()
        new_page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        new_page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        yield new_page
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = request.node.name.replace("/", "_")
            new_page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.console.txt").write_text("\n".join(console))
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def log_in(page: Any, base: str, name: str, then: str) -> None:
    """Log in through the form, then land on then."""
    page.goto(f"{base}/app/login?next={then}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url(f"{base}{then}*")
