"""Logs of the real `kb serve` (issue 13, Logs): the service's own lines at KB_LOG_LEVEL, in every worker,
with a timestamp, level and logger name, and no search text in the access log."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest

from kbserver.cli import main
from kbserver.logs import HideQueryStrings
from kbserver.repository import ContentRepository
from kbserver.store.database import MIGRATIONS
from tests.kbserve import get, kb_serve

SECRET_QUERY = "zanahoria-confidencial-4711"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR|DEBUG) \[\d+\] [\w.]+: ")


def _serve(repo: Path, data: Path, level: str, workers: int, output: Path, log_format: str = "text") -> str:
    """Run `kb serve`, wait for its index, search once, stop it; returns everything it wrote."""
    settings = {"KB_LOG_LEVEL": level, "KB_LOG_FORMAT": log_format}
    with kb_serve(repo, data, output, workers, settings) as base:
        status, _, _ = get(f"{base}/api/search?q={SECRET_QUERY}")
        assert status == 200
        get(f"{base}/api/suggest?q={SECRET_QUERY[:8]}")
        time.sleep(1)  # let the workers write their lines
    return output.with_suffix(".stdout").read_text() + output.read_text()


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


def test_json_lines_carry_the_request_id_in_every_worker(
    content_repo: ContentRepository, tmp_path: Path
) -> None:
    log = tmp_path / "json.log"
    settings = {"KB_LOG_LEVEL": "info", "KB_LOG_FORMAT": "json"}
    with kb_serve(content_repo.path, tmp_path / "data", log, 2, settings) as base:
        status, _, headers = get(f"{base}/api/search?q={SECRET_QUERY}", {"X-Request-ID": "desk-probe-0001"})
        assert status == 200 and headers["x-request-id"] == "desk-probe-0001"
        status, _, headers = get(f"{base}/livez", {"X-Request-ID": 'forged" status=200'})
        generated = headers["x-request-id"]  # a caller's id that would write into the log is replaced
        assert status == 200 and re.fullmatch(r"[0-9a-f]{32}", generated), generated
        time.sleep(1)  # let the workers write their lines
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is one JSON object
    assert lines and all({"time", "level", "logger", "process", "message"} <= set(line) for line in lines)
    parent = next(line["process"] for line in lines if "applying migration" in line["message"])
    [search] = [line for line in lines if line.get("request_id") == "desk-probe-0001"]
    assert search["logger"] == "uvicorn.access" and search["process"] != parent
    assert search["http"] == {
        "client": search["http"]["client"],
        "method": "GET",
        "path": "/api/search?[query hidden]",
        "version": "1.1",
        "status": 200,
    }
    assert [line["http"]["path"] for line in lines if line.get("request_id") == generated] == ["/livez"]
    index = [line for line in lines if re.match(r"search index (rebuilt|updated) to", line["message"])]
    assert index, text
    assert index[0]["level"] == "INFO" and index[0]["process"] != parent  # a worker's own line
    assert index[0]["seconds"] >= 0 and len(index[0]["commit"]) == 40
    [migrated] = [line for line in lines if "migration(s) applied" in line["message"]]
    every = [version for version, _name, _step in MIGRATIONS]
    assert migrated["level"] == "INFO" and migrated["migrations"] == every
    assert "seconds" in migrated
    assert SECRET_QUERY not in text and 'forged"' not in text


def test_an_unknown_format_is_refused_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KB_LOG_FORMAT", "xml")
    assert main(["serve", "--repo", str(tmp_path / "none"), "--data-dir", str(tmp_path / "data")]) == 2
    assert "KB_LOG_FORMAT: unknown format 'xml'" in capsys.readouterr().err
