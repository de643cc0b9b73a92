"""/api/docs in Chromium: Swagger UI from the service itself, behind login, under the full CSP."""

from __future__ import annotations

from urllib.parse import urlparse

from tests.browser.conftest import log_in


def test_api_docs_are_served_here_and_need_a_login(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    hosts: set[str] = set()
    problems: list[str] = []
    page.on("request", lambda r: hosts.add(urlparse(r.url).netloc))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server}/api/docs")
    assert "/app/login" in page.url  # no login, no docs
    log_in(page, live_server, "lead1", "/api/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    hosts.clear()
    problems.clear()  # the login page's own 401s
    page.reload()
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/search" in p for p in paths)
    assert "content-security-policy" in (page.context.request.get(f"{live_server}/api/docs").headers)
    assert hosts == {urlparse(live_server).netloc}  # nothing from a CDN
    assert problems == []  # in particular, no Content-Security-Policy violation
