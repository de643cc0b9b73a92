"""The XSS corpus in Chromium: no dialog, no CSP violation, no <script> that came from content (issue 11)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from tests.browser.conftest import log_in
from tests.xss_corpus import SERVICE_SCRIPT, STATIC_FILES, corpus_files

RECORD_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""
PAGE_FACTS = """() => ({
  csp: window.__csp,
  scripts: Array.from(document.scripts).map(
    (s) => s.src ? new URL(s.src).pathname : "inline#" + s.id + ":" + s.type),
  handlers: Array.from(document.querySelectorAll("*")).flatMap((el) =>
    Array.from(el.attributes).filter((a) => a.name.startsWith("on")
      || /^\\s*(javascript|vbscript|data):/i.test(a.value)).map((a) => el.tagName + " " + a.name)),
})"""


@pytest.fixture
def corpus_server(
    services: Services, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[str, Path, list[str]]:
    marker = tmp_path / "hook-ran"
    repo = services.repository
    files = corpus_files(marker, repo.paths(repo.resolve("main")))
    repo.commit_files("main", files, "corpus", SERVICE_AUTHOR, expected_head=repo.head("main"))
    return str(request.getfixturevalue("live_server")), marker, sorted(files)


def test_the_corpus_pages_run_no_content_script(
    corpus_server: tuple[str, Path, list[str]], page: Any
) -> None:
    live_server, marker, files = corpus_server
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(RECORD_CSP)
    log_in(page, live_server, "operator1", "/")
    paths = [p for p in files if p.endswith(".md")]
    urls = [re.sub(r"(index)?\.md$", "", p.removeprefix("docs")).rstrip("/") + "/" for p in paths]
    urls += [
        "/",
        "/tags/",
        "/kb/red-vpn/vpn-lenta/",
        "/en/kb/xss/body/",
        "/en/scripts/xss-variables-description/",
    ]
    for url in urls:
        answer = page.goto(live_server + url)
        assert answer is not None and answer.status == 200, url
        page.wait_for_load_state("load")
        page.mouse.move(200, 300)  # onmouseover= payloads would fire here
        page.mouse.click(5, 5)
        facts = page.evaluate(PAGE_FACTS)
        content_made = [
            s
            for s in facts["scripts"]
            if not SERVICE_SCRIPT.search(s) and s != "inline#__config:application/json"
        ]
        assert (url, content_made, facts["handlers"], facts["csp"]) == (url, [], [], [])
    for path in STATIC_FILES:
        answer = page.goto(live_server + "/" + path.removeprefix("docs/"))
        assert answer is not None
        if not path.endswith(".png"):
            assert answer.status == 404, path
    assert dialogs == []
    assert not marker.exists()
