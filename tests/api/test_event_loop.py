"""The event loop stays free: git reads and store writes run on threads, so a slow git and a locked store hold
up only the requests that need them. The editor's check parses only the draft and what it links to, and blob
reads go through git's persistent object reader."""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.content import parser
from kbserver.repository import ContentRepository
from kbserver.services import Services
from tests.api.conftest import login

SLOW_GIT = 2.0  # seconds each git process sleeps while the flag file exists
QUICK = 0.05  # what a request that needs neither git nor a store write may take, at most


@pytest.fixture
def slow_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `git` first on PATH that sleeps before running the real one while the returned flag file exists."""
    real = subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    folder = tmp_path / "slow-bin"
    folder.mkdir()
    flag = tmp_path / "git-is-slow"
    wrapper = folder / "git"
    wrapper.write_text(f'#!/bin/sh\nif [ -e "{flag}" ]; then sleep {SLOW_GIT}; fi\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return flag


@pytest.fixture
def store_lock(app_services: Services) -> Iterator[sqlite3.Connection]:
    """Another connection to the SQLite store (as a `kb` command in another process would hold): `BEGIN
    EXCLUSIVE` on it takes the store's write lock; it is rolled back at the end of the test."""
    holder = sqlite3.connect(
        app_services.engine.url.database or "", isolation_level=None, check_same_thread=False
    )
    yield holder
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    answer = call()
    return time.perf_counter() - start, answer


def test_health_and_a_repeated_search_answer_while_git_is_slow_and_the_store_locked(
    app_services: Services, slow_git: Path, store_lock: sqlite3.Connection
) -> None:
    token = app_services.users.issue_token("lead1")
    h = {"authorization": f"Bearer {token}"}
    step = "3-pregunta-de-verificacion"
    deviation = {"script_id": "SCR-0001", "step": step, "justification": "Sin voz"}
    draft = {"path": "docs/kb/nuevo.md", "text": "---\nid: KB-0999\n---\n# Nuevo\n"}
    with TestClient(create_app(app_services.settings, app_services)) as client, ThreadPoolExecutor(8) as pool:
        app_services.wait_for_background()
        assert client.get("/api/search", params={"q": "vpn"}, headers=h).status_code == 200  # warm
        slow_git.touch()
        store_lock.execute("BEGIN EXCLUSIVE")
        slow: list[Future[Any]] = [
            pool.submit(client.get, "/api/documents/KB-0001/history", headers=h),  # git log
            pool.submit(client.get, "/api/documents/KB-0002", headers=h),  # git reads
            pool.submit(client.post, "/api/content/check", json=draft, headers=h),  # git
            pool.submit(client.post, "/api/documents/KB-0001/flags", json={"reason": "unclear"}, headers=h),
            pool.submit(client.post, "/api/deviations", json=deviation, headers=h),  # git read, a write
        ]
        time.sleep(0.5)  # until they wait on git and on the lock
        health, searches = [], []
        for _ in range(5):
            took, answer = _timed(lambda: client.get("/api/health"))
            assert answer.status_code == 200
            health.append(took)
            took, answer = _timed(lambda: client.get("/api/search", params={"q": "vpn"}, headers=h))
            assert answer.status_code == 200 and answer.json()["total"] > 0
            searches.append(took)
        assert statistics.median(health) < QUICK, health
        assert statistics.median(searches) < QUICK, searches
        assert not any(f.done() for f in slow), "nothing was slowed down: the test would prove nothing"
        slow_git.unlink()
        store_lock.execute("ROLLBACK")
        assert [f.result(timeout=60).status_code for f in slow] == [200, 200, 200, 201, 201]
    assert app_services.flags.find(["open"])  # the write that waited for the lock was made


def test_the_editors_check_parses_only_the_draft_and_what_it_links_to(app_services: Services) -> None:
    parsed: list[str] = []
    code = parser.parse_document.__code__

    def watch(frame: FrameType, event: str, _arg: object) -> None:
        if event == "call" and frame.f_code is code:
            parsed.append(str(frame.f_locals["path"]))

    text = "---\nid: KB-0999\ntitle: Nuevo\n---\n# Nuevo\n\nVer [la VPN](red-vpn/vpn-lenta.md).\n"
    # Watched in this thread and in those started from now on: the server's, which run the check.
    threading.setprofile(watch)  # type: ignore[arg-type]
    try:
        with TestClient(create_app(app_services.settings, app_services)) as client:
            app_services.wait_for_background()
            parsed.clear()
            h = {"x-csrf-token": login(client, "lead1")}
            answer = client.post(
                "/api/content/check", json={"path": "docs/kb/nuevo.md", "text": text}, headers=h
            )
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
    assert answer.status_code == 200, answer.text
    assert not [f for f in answer.json()["findings"] if f["rule"] == "broken-link"], answer.json()
    assert sorted(set(parsed)) == ["docs/kb/nuevo.md", "docs/kb/red-vpn/vpn-lenta.md"], parsed


def test_blob_reads_go_through_one_persistent_git_reader(
    content_repo: ContentRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = content_repo.head("main") or ""
    paths = [p for p in content_repo.paths(commit) if p.endswith(".md")][:20]
    content_repo.read(commit, paths[0])  # the reader starts
    started: list[list[str]] = []
    popen = subprocess.Popen.__init__

    def counting(self: subprocess.Popen[bytes], args: Any, *rest: Any, **kwargs: Any) -> None:
        started.append(list(args) if isinstance(args, list | tuple) else [str(args)])
        popen(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", counting)
    texts = [content_repo.read(commit, path) for path in paths]
    assert all(texts) and len(paths) == 20
    assert started == [], f"{len(started)} git processes for {len(paths)} reads: {started[:3]}"
