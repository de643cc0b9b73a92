"""A search index over the seeded starter content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kbserver.repository import ContentRepository
from kbserver.search import SearchIndex, SearchService


@pytest.fixture(scope="module")
def starter_search(
    tmp_path_factory: pytest.TempPathFactory, seeded_repo_template: Path
) -> Iterator[SearchService]:
    """One index of the starter content, shared by the read-only tests of a module."""
    repo = ContentRepository(seeded_repo_template)
    index = SearchIndex(tmp_path_factory.mktemp("index"))
    index.catch_up(repo, repo.resolve("main"))
    with SearchService(index) as service:
        yield service
