"""What printing the manual cheaply keeps: list markers, table columns, and the cycle collector as it was."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator

import pytest

from kbserver.manual import Cover, build_manual
from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from tests.manual.conftest import pages

COVER = Cover("MP-PRINT", "Mesa", "Cliente", "es")
LISTS = """---
id: PROC-20
title: Listas y tablas
lang: es
owner: carmen.vidal
tags: []
audience: [L1]
review_by: 2027-06-30
version: "1.0"
order: 20
---

## Pasos

1. Primer paso, con un texto lo bastante largo para ocupar más de una línea en la página impresa del manual
   de procedimientos, de modo que la segunda línea cuelgue bajo el texto.
2. Segundo paso:
    - detalle anidado;
    - otro detalle.

Ideas:

- Primera idea suelta.

- Segunda idea suelta.

| Código | Descripción |
| --- | --- |
| P1 | Un servicio crítico caído para muchos usuarios |
| P2 | Un departamento afectado |
"""


@pytest.fixture
def repo(content_repo: ContentRepository) -> Iterator[ContentRepository]:
    """The starter content with a chapter of lists (numbered, nested, loose) and a table."""
    content_repo.commit_files(
        "main",
        {"docs/procedures/20-listas.md": LISTS.encode()},
        "listas",
        SERVICE_AUTHOR,
        content_repo.head("main"),
    )
    yield content_repo


def test_list_markers_and_table_columns_print_as_the_site_shows_them(repo: ContentRepository) -> None:
    text = pages(build_manual(repo, "main", COVER).pdf)
    chapter = next(page for page in text if page.startswith("PROC-20 Listas y tablas"))
    lines = [" ".join(line.split()) for line in chapter.splitlines()]
    assert any(re.match(r"1\. Primer paso, con", line) for line in lines)
    assert any(re.match(r"2\. Segundo paso:", line) for line in lines)
    assert "◦ detalle anidado;" in lines and "◦ otro detalle." in lines  # nested, as browsers mark them
    assert "• Primera idea suelta." in lines and "• Segunda idea suelta." in lines
    assert "Código Descripción" in lines and "P2 Un departamento afectado" in lines
    assert not any("¶" in page for page in text)  # the headings' permalinks are not printed


def test_the_cycle_collector_runs_again_after_a_build_as_it_was_before(repo: ContentRepository) -> None:
    assert gc.isenabled()
    build_manual(repo, "main", COVER)
    assert gc.isenabled()
    gc.disable()  # whoever held it off before a build finds it held off after
    try:
        build_manual(repo, "main", COVER)
        assert not gc.isenabled()
    finally:
        gc.enable()
