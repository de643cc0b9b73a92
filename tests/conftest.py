"""Real resources in temporary directories: git repositories, SQLite and PostgreSQL, Whoosh, Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbserver.repository import ContentRepository
from kbserver.resources import starter_content
from kbserver.services import Services
from kbserver.settings import Settings
from tests.pgschema import postgres_schema

PG_URL_VAR = "KB_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's git config or writes to their home; KB_* settings come from tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.test")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.test")
    for name in list(os.environ):
        if name.startswith("KB_") and name != PG_URL_VAR:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def seeded_repo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A content repository seeded with the starter content, created once and copied per test."""
    path = tmp_path_factory.mktemp("template") / "content"
    ContentRepository.create(path, starter_content())
    return path


@pytest.fixture
def content_repo(seeded_repo_template: Path, tmp_path: Path) -> ContentRepository:
    """A fresh copy of the seeded content repository."""
    path = tmp_path / "content"
    shutil.copytree(seeded_repo_template, path, symlinks=True)
    return ContentRepository(path)


def _postgres_url() -> str | None:
    url = os.environ.get(PG_URL_VAR)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {PG_URL_VAR} is not set: PostgreSQL tests must run in CI")
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A state store URL on SQLite and on a real PostgreSQL, each empty."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    base = _postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL not configured: set {PG_URL_VAR} (CI sets it)")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, content_repo: ContentRepository) -> Settings:
    """Settings for a temporary data dir, SQLite state store and the seeded repository."""
    return Settings(
        repo=content_repo.path, data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 's.db'}"
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    """The service's parts for the test settings."""
    opened = Services.open(settings)
    yield opened
    opened.close()
