"""The site is built from a commit into a new folder and swapped in only when the build succeeds."""

from __future__ import annotations

import pytest

from kbserver.errors import ContentError
from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from kbserver.site import Site, section_nav
from kbserver.siteconfig import read_site_config


def _commit(repo: ContentRepository, changes: dict[str, bytes | None]) -> str:
    return repo.commit_files("main", changes, "change", SERVICE_AUTHOR, expected_head=repo.head("main"))


def test_build_serves_the_commit_and_escapes_raw_html(content_repo: ContentRepository, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = Site(tmp_path / "site")
    assert site.served_dir() is None
    page = content_repo.read(content_repo.resolve("main"), "docs/kb/red-vpn/vpn-lenta.md")
    assert page
    commit = _commit(
        content_repo, {"docs/kb/red-vpn/vpn-lenta.md": page + b"\n<script>alert('x')</script>\n"}
    )
    site.build(content_repo, commit)
    assert site.served_commit() == commit
    served = site.served_dir()
    assert served is not None
    html = (served / "kb" / "red-vpn" / "vpn-lenta" / "index.html").read_text()
    assert "VPN lenta o con desconexiones frecuentes" in html
    assert "<script>alert('x')</script>" not in html and "&lt;script&gt;alert" in html
    assert "KB-0012" in html  # the metadata panel
    assert "fonts.googleapis.com" not in html


def test_failed_build_keeps_the_old_site(content_repo: ContentRepository, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = Site(tmp_path / "site")
    good = content_repo.resolve("main")
    site.build(content_repo, good)
    before = site.served_dir()
    broken = (
        b"---\nid: KB-0999\ntitle: Roto\nlang: es\nowner: a\naudience: [L1]\nreview_by: 2030-01-01\n---\n\n"
    )
    bad = _commit(content_repo, {"docs/kb/red-vpn/roto.md": broken + b"[x](no-existe.md)\n"})
    with pytest.raises(ContentError) as failure:
        site.build(content_repo, bad)
    assert any("no-existe.md" in line for line in failure.value.details["output"])
    assert site.served_commit() == good and site.served_dir() == before
    assert not list(site.builds.glob(".build-*"))


def test_leftovers_of_a_killed_build_are_removed(content_repo: ContentRepository, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = Site(tmp_path / "site")
    leftover = site.builds / ".build-killed"
    (leftover / "site").mkdir(parents=True)
    site.build(content_repo, content_repo.resolve("main"))
    assert not leftover.exists()
    assert site.served_dir() is not None


def test_the_site_is_also_built_in_english_below_en(content_repo: ContentRepository, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = Site(tmp_path / "site")
    site.build(content_repo, content_repo.resolve("main"))
    served = site.served_dir()
    assert served is not None
    spanish = (served / "kb" / "red-vpn" / "vpn-no-conecta" / "index.html").read_text()
    english = (served / "en" / "kb" / "red-vpn" / "vpn-no-conecta" / "index.html").read_text()
    for html, lang, word in ((spanish, "es", "Búsqueda"), (english, "en", "Search")):
        assert f'<html lang="{lang}"' in html and f'placeholder="{word}"' in html
        assert "La VPN no conecta" in html  # the same content
        assert '<meta name="kb-root" content="../../..">' in html
    assert "Idioma" in spanish and "Language" in english  # the metadata panel's words
    assert 'href="/en/"' in spanish and 'hreflang="en"' in spanish  # the language selector
    assert not (served / "en" / "en").exists()


def test_only_language_folders_are_built() -> None:
    config = read_site_config(
        "markdown_extensions:\n"
        "  - pymdownx.emoji:\n"
        "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"  # a tag that runs code
        "extra:\n"
        "  alternate:\n"
        "    - {name: Español, link: /, lang: es}\n"
        "    - {name: English, link: /en/, lang: en}\n"
    )
    assert config.alternate_languages() == [("en", "en")]
    for bad in (
        "{name: Other, link: 'https://example.com/', lang: fr}",
        "{name: Up, link: /../x/, lang: xx}",
    ):
        refused = read_site_config(f"extra:\n  alternate:\n    - {bad}\n")
        assert refused.alternate_languages() == []
        assert [f.rule for f in refused.findings] == ["site-config"]
    broken = read_site_config("extra: [\n")
    assert broken.findings and "invalid YAML" in broken.findings[0].message


def test_sections_are_named_after_their_index_pages(content_repo: ContentRepository, tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = Site(tmp_path / "site")
    site.build(content_repo, content_repo.resolve("main"))
    served = site.served_dir()
    assert served is not None
    html = (served / "kb" / "red-vpn" / "vpn-no-conecta" / "index.html").read_text()
    for title in ("VPN y red", "Artículos", "Manual de procedimientos", "Guiones de chat"):
        assert title in html
    assert "Red vpn" not in html and "Procedures" not in html

    docs = tmp_path / "source" / "docs"
    (docs / "a-folder").mkdir(parents=True)
    (docs / "index.md").write_text("# Inicio\n")
    (docs / "a-folder" / "index.md").write_text("---\ntitle: 'Con título <b>'\n---\n# Otro\n")
    (docs / "a-folder" / "page.md").write_text("# Página\n")
    (docs / "no-index").mkdir()
    (docs / "no-index" / "z.md").write_text("# Z\n")
    (docs / "empty").mkdir()
    assert section_nav(docs) == [
        "index.md",
        {"Con título &lt;b&gt;": ["a-folder/index.md", "a-folder/page.md"]},  # titles are HTML-escaped
        {"No index": ["no-index/z.md"]},
    ]


def test_compiled_templates_are_kept_and_a_damaged_cache_is_ignored(  # type: ignore[no-untyped-def]
    content_repo: ContentRepository, tmp_path
) -> None:
    site = Site(tmp_path / "site")
    first = content_repo.resolve("main")
    site.build(content_repo, first)
    cached = sorted((site.root / ".templates").iterdir())
    assert cached  # the theme's templates, compiled once
    page = site.served_dir() / "kb" / "red-vpn" / "vpn-lenta" / "index.html"  # type: ignore[operator]
    before = page.read_text()
    for file in cached:  # a disk error or a half-written file: each cache entry now garbage
        file.write_bytes(b"j2\x00garbage" * 7)
    other = "docs/kb/red-vpn/vpn-no-conecta.md"
    second = _commit(content_repo, {other: content_repo.read(first, other) + b"\nOtra linea.\n"})  # type: ignore[operator]
    site.build(content_repo, second)
    assert site.served_commit() == second
    after = (site.served_dir() / "kb" / "red-vpn" / "vpn-lenta" / "index.html").read_text()  # type: ignore[operator]
    assert after == before and "VPN lenta o con desconexiones frecuentes" in after
    assert (site.served_dir() / "en" / "index.html").is_file()  # type: ignore[operator]
