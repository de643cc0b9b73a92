"""`kb backup` and `kb restore` (issue 13): a round trip on SQLite and on PostgreSQL gives back change
requests, feedback, users, the initial admin password and every git ref; a restore overwrites nothing."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kbserver.cli import main
from kbserver.commands.users import INITIAL_PASSWORD_FILE, ensure_first_admin
from kbserver.feedback.votes import Vote
from kbserver.repository import ContentRepository
from kbserver.services import Services
from kbserver.settings import Settings
from kbserver.store import connect
from tests.conftest import _postgres_url

ARTICLE = "docs/kb/red-vpn/vpn-no-conecta.md"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_urls(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(the store to back up, the empty store to restore into): "" means SQLite in the data dir; on
    PostgreSQL, two databases of their own, as a deployment has."""
    if request.param == "sqlite":
        yield "", ""
        return
    base = _postgres_url()
    if base is None:
        pytest.skip("PostgreSQL not configured: set KB_TEST_POSTGRES_URL (CI sets it)")
    names = [f"kb_backup_{uuid.uuid4().hex[:10]}", f"kb_restore_{uuid.uuid4().hex[:10]}"]
    admin = connect(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.engine.make_url(base)
    yield tuple(url.set(database=n).render_as_string(hide_password=False) for n in names)  # type: ignore[misc]
    with admin.connect() as conn:
        for name in names:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _state(services: Services) -> dict[str, Any]:
    """What a restore must give back, as the service reads it."""
    records = services.workflow.records
    changes = records.find()
    return {
        "users": sorted((u.name, u.role.value, u.disabled, u.email) for u in services.users.list()),
        "changes": sorted((c.number, c.title, c.state.value, c.branch, c.head_commit) for c in changes),
        "events": {
            c.number: [(e["user"], e["action"], e["head_commit"], e["at"]) for e in records.events(c.number)]
            for c in changes
        },
        "reviews": {c.number: records.reviews(c.number) for c in changes},
        "feedback": services.feedback.for_ticket("INC0012345"),  # every field, timestamps included
        "refs": _git(services.repository.path, "for-each-ref", "--format=%(refname) %(objectname)"),
        "head": _git(services.repository.path, "symbolic-ref", "HEAD"),
    }


def _fill(services: Services) -> None:
    """Users, a merged and an open change request, feedback, a tag and a ref outside refs/heads."""
    for name, role in (("lead1", "lead"), ("lead2", "lead"), ("appr1", "approver"), ("op1", "operator")):
        services.users.add(
            name, role, "clave-larga-1", display_name=name.title(), email=f"{name}@desk.example"
        )
    lead1, lead2, appr1 = (services.users.get(n) for n in ("lead1", "lead2", "appr1"))
    flow = services.workflow
    for title in ("VPN: paso nuevo", "Borrador abierto"):
        change = flow.create(lead1, title)
        text = services.repository.read(change.head_commit, ARTICLE) or b""
        flow.write(
            lead1, change.number, {ARTICLE: text + f"\n{title}\n".encode()}, change.head_commit, "edit"
        )
    flow.submit(lead1, 1)
    flow.approve(lead2, 1)
    flow.approve(appr1, 1)
    services.merge(lead2, 1)
    services.wait_for_background()  # the index's catch-up after the merge
    main = services.main_commit() or ""
    services.feedback.record(
        Vote(services.users.get("op1").id, "KB-0001", main, "INC0012345", True, None, "me sirvió")
    )
    _git(services.repository.path, "tag", "-a", "-m", "first release", "v1", main)
    _git(services.repository.path, "update-ref", "refs/kb/checkpoint", main)


def test_round_trip_restores_everything_into_empty_places(
    content_repo: ContentRepository, tmp_path: Path, store_urls: tuple[str, str]
) -> None:
    source_url, target_url = store_urls
    source = Settings(repo=content_repo.path, data_dir=tmp_path / "data", database_url=source_url)
    services = Services.open(source)
    try:
        password = ensure_first_admin(services.users, source.data_dir)
        _fill(services)
        before = _state(services)
    finally:
        services.close()
    assert before["changes"][0][2] == "merged" and before["changes"][1][2] == "draft"
    assert "refs/tags/v1" in before["refs"] and "refs/kb/checkpoint" in before["refs"]
    assert before["feedback"] and before["reviews"][1] and len(before["users"]) == 5

    (tmp_path / "backups").mkdir()
    where = ["--repo", str(source.repo), "--data-dir", str(source.data_dir), "--database-url", source_url]
    assert main(["backup", str(tmp_path / "backups"), *where]) == 0
    [archive] = (tmp_path / "backups").iterdir()
    assert archive.stat().st_mode & 0o077 == 0  # it holds the first admin password and every hash
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert sorted(tar.getnames()) == sorted(["manifest.json", *manifest["files"]])
    assert manifest["store"]["kind"] == ("postgresql" if source_url else "sqlite")
    assert INITIAL_PASSWORD_FILE in manifest["files"]
    assert set(manifest["refs"]) == {line.split()[0] for line in before["refs"].splitlines()}
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())

    target = Settings(
        repo=tmp_path / "new" / "content", data_dir=tmp_path / "new" / "data", database_url=target_url
    )
    into = ["--repo", str(target.repo), "--data-dir", str(target.data_dir), "--database-url", target_url]
    assert main(["restore", str(archive), *into]) == 0

    restored = Services.open(target)
    try:
        assert _state(restored) == before
        assert restored.users.authenticate("admin", password or "").name == "admin"
        assert restored.users.authenticate("lead1", "clave-larga-1").name == "lead1"
        assert (target.data_dir / INITIAL_PASSWORD_FILE).read_text() == f"{password}\n"
        # A working service: the derived index rebuilds from the restored git, and the workflow carries on.
        restored.catch_up_index()
        assert restored.search.search("vpn", {}, 5)["results"]
        submitted = restored.workflow.submit(restored.users.get("lead1"), 2)
        assert submitted.state.value == "in_review"
    finally:
        restored.close()


def test_restore_refuses_places_that_are_not_empty(
    content_repo: ContentRepository, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--repo", str(content_repo.path), "--data-dir", str(tmp_path / "data")]
    assert main(["backup", str(tmp_path / "kb.tar.gz"), *where]) == 0
    # A second backup never overwrites the first.
    assert main(["backup", str(tmp_path / "kb.tar.gz"), *where]) == 2
    assert "already exists" in capsys.readouterr().err

    # Over the live repository and data dir: refused, and nothing is touched.
    refs = _git(content_repo.path, "for-each-ref")
    assert main(["restore", str(tmp_path / "kb.tar.gz"), *where]) == 2
    assert "is not empty: a backup is restored into an empty place only" in capsys.readouterr().err
    assert _git(content_repo.path, "for-each-ref") == refs

    # An empty repository folder but a data dir that holds something.
    (tmp_path / "other" / "data").mkdir(parents=True)
    (tmp_path / "other" / "data" / "keep.txt").write_text("mine")
    other = ["--repo", str(tmp_path / "other" / "content"), "--data-dir", str(tmp_path / "other" / "data")]
    assert main(["restore", str(tmp_path / "kb.tar.gz"), *other]) == 2
    assert "data is not empty" in capsys.readouterr().err
    assert not (tmp_path / "other" / "content").exists()


@pytest.mark.postgres
def test_restore_refuses_a_database_that_holds_tables(
    content_repo: ContentRepository, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _postgres_url()
    if base is None:
        pytest.skip("PostgreSQL not configured: set KB_TEST_POSTGRES_URL (CI sets it)")
    where = ["--repo", str(content_repo.path), "--data-dir", str(tmp_path / "data")]
    assert main(["backup", str(tmp_path / "kb.tar.gz"), *where]) == 0
    name = f"kb_busy_{uuid.uuid4().hex[:10]}"
    admin = connect(base).execution_options(isolation_level="AUTOCOMMIT")
    busy = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        engine = connect(busy)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE precious (id int)"))
        engine.dispose()
        into = [
            "--repo",
            str(tmp_path / "new"),
            "--data-dir",
            str(tmp_path / "new-data"),
            "--database-url",
            busy,
        ]
        assert main(["restore", str(tmp_path / "kb.tar.gz"), *into]) == 2
        assert f"the database {name} already holds 1 table(s)" in capsys.readouterr().err
        assert not (tmp_path / "new").exists()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_a_damaged_archive_is_refused_and_leaves_nothing(
    content_repo: ContentRepository, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["--repo", str(content_repo.path), "--data-dir", str(tmp_path / "data")]
    assert main(["backup", str(tmp_path / "kb.tar.gz"), *where]) == 0
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(tmp_path / "kb.tar.gz") as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "content.bundle":
                data = data[:-20] + bytes(20)
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    into = ["--repo", str(tmp_path / "new"), "--data-dir", str(tmp_path / "new-data")]
    assert main(["restore", str(damaged), *into]) == 2
    assert "content.bundle is missing or differs from its checksum" in capsys.readouterr().err
    assert not (tmp_path / "new").exists() and not (tmp_path / "new-data").exists()
