"""Logs of the real `kb serve` (issue 13, Logs): the service's own lines at KB_LOG_LEVEL, in every worker,
with a timestamp, level and logger name, and no search text in the access log."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kbserver.cli import main
from kbserver.logs import HideQueryStrings
from kbserver.repository import ContentRepository

SECRET_QUERY = "zanahoria-confidencial-4711"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR|DEBUG) \[\d+\] [\w.]+: ")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _serve(repo: Path, data: Path, level: str, workers: int, output: Path) -> str:
    """Run `kb serve`, wait for its index, search once, stop it; returns everything it wrote."""
    port = _free_port()
    env = {
        **os.environ,
        "KB_REPO": str(repo),
        "KB_DATA_DIR": str(data),
        "KB_PORT": str(port),
        "KB_LOG_LEVEL": level,
        "KB_PUBLIC_READ": "true",
        "KB_SITE_AUTOBUILD": "false",  # no mkdocs build: the index is enough to search
    }
    kb = Path(sys.executable).with_name("kb")
    with output.open("wb") as sink:
        serve = subprocess.Popen(
            [str(kb), "serve", "--workers", str(workers)], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            ready = False
            while not ready and time.monotonic() < deadline and serve.poll() is None:
                try:
                    status, body = _get(f"{base}/api/health")
                    ready = status == 200 and json.loads(body)["index"]["ready"]
                except OSError:
                    pass
                time.sleep(0.2)
            assert ready, output.read_text()
            status, _ = _get(f"{base}/api/search?q={SECRET_QUERY}")
            assert status == 200
            _get(f"{base}/api/suggest?q={SECRET_QUERY[:8]}")
            time.sleep(1)  # let the workers write their lines
        finally:
            serve.terminate()
            serve.wait(30)
    return output.read_text()


def test_info_shows_the_services_own_lines_in_every_process_and_hides_search_text(
    content_repo: ContentRepository, tmp_path: Path
) -> None:
    text = _serve(content_repo.path, tmp_path / "data", "info", 2, tmp_path / "out.log")
    assert "state store: applying migration" in text  # from `kb serve` itself
    index_lines = [
        line for line in text.splitlines() if re.search(r"search index (rebuilt|updated) to", line)
    ]
    assert index_lines, text  # from a worker, which configured its own logging
    assert LINE.match(index_lines[0]), index_lines[0]
    parent = re.findall(r"\[(\d+)\] kbserver.store.database", text)[0]
    assert f"[{parent}]" not in index_lines[0]  # written by a worker, not by `kb serve`'s own process
    assert re.search(r'"GET /api/search\?\[query hidden\] HTTP/1.1" 200', text), text  # the access log is on
    assert SECRET_QUERY not in text and SECRET_QUERY[:8] not in text


def test_warning_hides_info_lines(content_repo: ContentRepository, tmp_path: Path) -> None:
    text = _serve(content_repo.path, tmp_path / "data", "warning", 1, tmp_path / "out.log")
    assert "Knowledge base:" in text  # the banner is not a log line
    assert " INFO " not in text and "applying migration" not in text and "GET /api/" not in text


def test_an_unknown_level_is_refused_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KB_LOG_LEVEL", "loud")
    assert main(["serve", "--repo", str(tmp_path / "none"), "--data-dir", str(tmp_path / "data")]) == 2
    assert "KB_LOG_LEVEL: unknown level 'loud'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("path", "shown"),
    [("/api/search?q=juan+perez", "/api/search?[query hidden]"), ("/api/health", "/api/health")],
)
def test_the_access_filter_hides_only_query_strings(path: str, shown: str) -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", path, "1.1", 200),
        None,
    )
    assert HideQueryStrings().filter(record)
    assert record.getMessage() == f'127.0.0.1:5 - "GET {shown} HTTP/1.1" 200'
