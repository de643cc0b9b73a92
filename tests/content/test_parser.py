"""One parser for disk, git blobs and request bodies; safe rendering."""

from __future__ import annotations

from kbserver.content import Corpus, Kind, parse_document, render_html
from kbserver.content.model import ScriptMeta
from kbserver.repository import ContentRepository
from kbserver.resources import starter_content

SCRIPT = """---
id: SCR-0042
title: Prueba
lang: es
owner: ana
audience: L1
review_by: 2030-01-01
variables:
  - name: user_name
---

## 1. Configuración inicial

> Hola {{ user_name }}.

Vaya a [cierre](#2-cierre).

## 2. Cierre

Fin.
"""


def test_script_structure() -> None:
    doc = parse_document("docs/scripts/prueba.md", SCRIPT)
    assert doc.kind is Kind.SCRIPT
    assert isinstance(doc.meta, ScriptMeta)
    assert doc.meta.audience == ["L1"]
    assert [s.anchor for s in doc.sections] == ["1-configuracion-inicial", "2-cierre"]
    assert [(p.name, p.line) for p in doc.placeholders] == [("user_name", 14)]
    assert doc.steps[0].targets == (("2-cierre", 16),)
    assert doc.url == "/scripts/prueba/"


def test_same_document_from_disk_and_from_git(content_repo: ContentRepository) -> None:
    on_disk = Corpus.from_directory(starter_content())
    commit = content_repo.head("main")
    assert commit
    from_git = Corpus.from_files(content_repo.files(commit))
    assert set(on_disk.documents) == set(from_git.documents)
    path = "docs/scripts/apertura-verificacion.md"
    a, b = on_disk.documents[path], from_git.documents[path]
    assert (a.meta, a.sections, a.steps, a.links) == (b.meta, b.sections, b.steps, b.links)


def test_raw_html_is_escaped_and_script_links_dropped() -> None:
    html = render_html(
        "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n", "docs/kb/a.md"
    )
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert "<img" not in html


def test_heading_anchors_match_the_site() -> None:
    html = render_html("## Configuración de la VPN\n\n## Configuración de la VPN\n", "docs/kb/a.md")
    assert 'id="configuracion-de-la-vpn"' in html
    assert 'id="configuracion-de-la-vpn_1"' in html
