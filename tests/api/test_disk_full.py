"""A full data disk, for real (a small tmpfs): writes answer 503 with a clear error, search keeps answering,
and everything works again by itself once space is freed.

The state store is SQLite on that disk; a PostgreSQL server keeps its data on its own disk, so filling ours
says nothing about it (its "disk full", SQLSTATE 53100, is mapped by the same code)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.services import Services
from kbserver.settings import Settings
from tests.api.conftest import PASSWORD

FEEDBACK = {"document_id": "KB-0001", "helpful": True, "ticket": "INC0012345"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB file system of its own, mounted for the test (needs root, as CI and the dev machines run)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a small file system here: {mounted.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def full_disk_services(small_disk: Path, seeded_repo_template: Path) -> Iterator[Services]:
    shutil.copytree(seeded_repo_template, small_disk / "content", symlinks=True)
    services = Services.open(
        Settings(repo=small_disk / "content", data_dir=small_disk / "data", site_autobuild=False)
    )
    services.users.add("operator1", "operator", PASSWORD)
    services.users.add("lead1", "lead", PASSWORD)
    services.catch_up_index()
    yield services
    services.wait_for_background()
    services.close()


def _fill(disk: Path) -> Path:
    """Write to a file until the disk refuses another byte; returns it (deleting it frees the space).

    Called again before each request: a write that failed may give back some space (SQLite truncates its
    log), and the next request must meet a disk with none."""
    filler = disk / "filler"
    with open(filler, "ab", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_answers_503_and_recovers(full_disk_services: Services, small_disk: Path) -> None:
    services = full_disk_services
    lead = {"authorization": f"Bearer {services.users.issue_token('lead1')}"}
    operator = {"authorization": f"Bearer {services.users.issue_token('operator1')}"}
    # A token not used yet: its first use records the time, a write that a full disk refuses.
    reader = {"authorization": f"Bearer {services.users.issue_token('operator1')}"}
    with TestClient(create_app(services.settings, services)) as client:
        services.wait_for_background()
        assert client.get("/api/search", params={"q": "vpn"}, headers=operator).json()["search_id"]
        with services.engine.begin() as conn:
            # An empty write-ahead log, so that the next write to the store needs new space on the disk.
            conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        filler = _fill(small_disk)
        found = client.get("/api/search", params={"q": "vpn no conecta"}, headers=reader)
        assert found.status_code == 200 and found.json()["total"] > 0
        assert found.json()["search_id"] is None  # answered, without its line in the search log
        writes = {
            "login": ("/api/session", {"name": "operator1", "password": PASSWORD}, {}),
            "feedback": ("/api/feedback", FEEDBACK, operator),
            "change": ("/api/changes", {"title": "Arreglo de la VPN"}, lead),
        }
        for what, (path, body, headers) in writes.items():
            _fill(small_disk)
            response = client.post(path, json=body, headers=headers)
            assert response.status_code == 503, (what, response.text)
            assert response.json()["error"]["code"] == "storage_full", what
            assert "disk is full" in response.json()["error"]["message"], what
            assert response.headers["retry-after"].isdigit(), what

        filler.unlink()
        again = client.get("/api/search", params={"q": "vpn"}, headers=operator)
        assert again.status_code == 200 and isinstance(again.json()["search_id"], int)
        login = client.post("/api/session", json={"name": "operator1", "password": PASSWORD})
        assert login.status_code == 200
        assert client.post("/api/feedback", json=FEEDBACK, headers=operator).status_code == 201
        created = client.post("/api/changes", json={"title": "Arreglo de la VPN"}, headers=lead)
        assert created.status_code == 201, created.text
