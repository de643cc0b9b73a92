"""Content never runs code on the server or script in a browser: the site build of the XSS corpus, content's
mkdocs.yml, static files, symbolic links, and the preview renderer against the built page (issue 11)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.cli import main
from kbserver.content import parse_document, render_html
from kbserver.errors import ContentError
from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from kbserver.services import Services
from kbserver.site import Site
from tests.api.conftest import login
from tests.xss_corpus import PAYLOAD_COUNT, STATIC_FILES, corpus_files, dangers, hook_code

ARTICLE = "---\nid: KB-0600\ntitle: Extra\nlang: es\nowner: a\naudience: [L1]\nreview_by: 2030-01-01\n---\n\n"


def _commit(repo: ContentRepository, changes: dict[str, bytes | None]) -> str:
    return repo.commit_files("main", changes, "change", SERVICE_AUTHOR, expected_head=repo.head("main"))


CODE_RUNNING_CONFIGS = {
    "hooks": "hooks: [docs/assets/x/h.py]\n",
    "markdown_extensions": "markdown_extensions: [docs.assets.x.h]\n",
    "python-name-tag": "extra:\n  x: !!python/name:docs.assets.x.h.x\n",
    "plugins-and-tag": "plugins:\n  - search:\n      separator: !!python/name:docs.assets.x.h.x\n",
}


@pytest.mark.parametrize("config", CODE_RUNNING_CONFIGS.values(), ids=CODE_RUNNING_CONFIGS.keys())
def test_the_contents_mkdocs_yml_never_runs_code(
    content_repo: ContentRepository, tmp_path: Path, config: str
) -> None:
    marker = tmp_path / "ran"
    own = (content_repo.read("main", "mkdocs.yml") or b"").decode()
    commit = _commit(
        content_repo, {"mkdocs.yml": (own + config).encode(), "docs/assets/x/h.py": hook_code(marker)}
    )
    site = Site(tmp_path / "site")
    site.build(content_repo, commit)  # what is not allowed is ignored: the site still builds
    assert not marker.exists()
    assert site.served_commit() == commit


def test_a_theme_of_the_contents_own_is_never_used(content_repo: ContentRepository, tmp_path: Path) -> None:
    own = (content_repo.read("main", "mkdocs.yml") or b"").decode()
    template = b'{% extends "base.html" %}{% block content %}CONTENT-TEMPLATE{% endblock %}'
    commit = _commit(
        content_repo,
        {
            "mkdocs.yml": own.replace("theme:\n", "theme:\n  custom_dir: docs/theme\n").encode(),
            "docs/theme/main.html": template,
            "overrides/main.html": template,  # what `kb init` used to seed into content
        },
    )
    site = Site(tmp_path / "site")
    site.build(content_repo, commit)
    served = site.served_dir()
    assert served is not None
    page = (served / "kb" / "red-vpn" / "vpn-lenta" / "index.html").read_text()
    assert "CONTENT-TEMPLATE" not in page and "VPN lenta" in page and "kb-meta" in page


@pytest.fixture
def corpus_site(services: Services, tmp_path: Path) -> tuple[Services, Path]:
    marker = tmp_path / "hook-ran"
    repo = services.repository
    commit = _commit(repo, corpus_files(marker, repo.paths(repo.resolve("main"))))
    services.site.build(services.repository, commit)
    return services, marker


def test_the_xss_corpus_is_inert_in_the_built_site(corpus_site: tuple[Services, Path]) -> None:
    services, marker = corpus_site
    assert PAYLOAD_COUNT >= 40
    assert not marker.exists()
    served = services.site.served_dir()
    assert served is not None
    pages = sorted(served.rglob("*.html"))
    assert len(pages) > 100 and (served / "en" / "kb" / "xss" / "body" / "index.html").is_file()
    found = {p.relative_to(served).as_posix(): dangers(p.read_text(), page=True) for p in pages}
    assert {path: problems for path, problems in found.items() if problems} == {}
    body = (served / "kb" / "xss" / "body" / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # shown as text, not dropped
    nav = (served / "kb" / "red-vpn" / "vpn-lenta" / "index.html").read_text()
    assert "&lt;script&gt;alert(80)&lt;/script&gt;" in nav  # the section's title in every page's navigation
    for path in STATIC_FILES:
        name = path.removeprefix("docs/")
        assert (served / name).exists() == name.endswith(".png"), name


def test_only_images_pdfs_and_downloads_are_served_from_content(corpus_site: tuple[Services, Path]) -> None:
    services, _marker = corpus_site
    served = services.site.served_dir()
    assert served is not None
    # As if a build had let them in: they are still never served from the site's origin.
    for name in ("assets/xss/late.js", "assets/xss/late.svg", "assets/xss/late.html", "assets/kb/x.htm"):
        (served / name).parent.mkdir(parents=True, exist_ok=True)
        (served / name).write_text("<script>alert(1)</script>")
    (served / "assets" / "xss" / "list.csv").write_text("=1+1\n")
    services.users.add("operator1", "operator", "s3cret-password")
    with TestClient(create_app(services.settings, services)) as client:
        login(client, "operator1")
        for name in ("p.js", "p.svg", "p.html", "p.css", "h.py", "late.js", "late.svg", "late.html"):
            assert client.get(f"/assets/xss/{name}").status_code == 404, name
            assert client.get(f"/en/assets/xss/{name}").status_code == 404, name
        assert client.get("/assets/kb/x.htm").status_code == 404
        image = client.get("/assets/xss/polyglot.png")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        download = client.get("/assets/xss/list.csv")
        assert download.status_code == 200 and download.headers["content-disposition"] == "attachment"
        assert client.get("/assets/kb/kb.js").status_code == 200  # the service's own script
        assert client.get("/kb/xss/body/").status_code == 200


def test_the_preview_renders_exactly_the_published_body(services: Services) -> None:
    commit = services.main_commit() or ""
    paths = services.repository.paths(commit)
    table = "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n!!! warning\n    Aviso {: .x onclick=alert(1) }\n"
    extra = ARTICLE + table + "\n[VPN](../red-vpn/vpn-lenta.md#pasos)\n"
    commit = _commit(services.repository, {"docs/kb/cuentas/extra.md": extra.encode()})
    paths = services.repository.paths(commit)
    documents = [
        "docs/kb/cuentas/extra.md",
        "docs/kb/red-vpn/vpn-lenta.md",
        "docs/scripts/apertura-verificacion.md",
    ]
    # Rendered before the build: the previews' renderer must not change what the build is given.
    previews = {}
    for path in [*documents, "docs/index.md"]:
        doc = parse_document(path, services.repository.read(commit, path) or b"")
        previews[doc.url] = render_html(doc.body, path, paths)
    services.site.build(services.repository, commit)
    served = services.site.served_dir()
    assert served is not None
    for url, preview in previews.items():
        page = (served / url.lstrip("/") / "index.html").read_text()
        published = re.search(r'<div class="kb-body">(.*?)</div>\s*(<form|<details|</article>)', page, re.S)
        assert published is not None
        assert preview == published.group(1)
    extra = previews["/kb/cuentas/extra/"]
    assert 'align="right"' in extra and 'class="admonition warning"' in extra and dangers(extra) == []


def _commit_symlink(repo: ContentRepository, tmp_path: Path, path: str, target: str) -> str:
    work = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(work)], check=True)
    link = work / path
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    subprocess.run(["git", "-C", str(work), "add", path], check=True)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", "a link"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "main"], check=True)
    return repo.resolve("main")


def test_a_symlink_in_content_gives_a_clear_build_error(
    content_repo: ContentRepository, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commit = _commit_symlink(content_repo, tmp_path, "docs/kb/passwd.md", "/etc/passwd")
    with pytest.raises(ContentError, match="symbolic links") as failure:
        Site(tmp_path / "site").build(content_repo, commit)
    assert failure.value.details == {"paths": ["docs/kb/passwd.md"]}
    common = ["--repo", str(content_repo.path), "--data-dir", str(tmp_path / "data")]
    assert main(["build", *common]) == 2
    err = capsys.readouterr().err
    assert "docs/kb/passwd.md" in err and "Traceback" not in err


def test_a_nav_link_that_is_not_a_page_or_http_never_reaches_a_page(
    content_repo: ContentRepository, tmp_path: Path
) -> None:
    pages = [
        p.removeprefix("docs/") for p in content_repo.paths(content_repo.resolve("main")) if p.endswith(".md")
    ]
    bad = ["javascript:alert(1)//a.md", {"Foo": "javascript:alert(5)//b.md"}, {"Bar": "data:text/html,x.md"}]
    config = yaml.safe_dump({"site_name": "Sitio", "nav": [*pages, *bad]}, allow_unicode=True)
    commit = _commit(content_repo, {"mkdocs.yml": config.encode()})
    site = Site(tmp_path / "site")
    site.build(content_repo, commit)
    served = site.served_dir()
    assert served is not None
    found = {
        p.relative_to(served).as_posix(): dangers(p.read_text(), page=True) for p in served.rglob("*.html")
    }
    assert {path: problems for path, problems in found.items() if problems} == {}
    assert "VPN lenta" in (served / "kb" / "red-vpn" / "vpn-lenta" / "index.html").read_text()


def test_front_matter_with_aliases_gives_a_page_without_it(
    content_repo: ContentRepository, tmp_path: Path
) -> None:
    site = Site(tmp_path / "site")
    own = ARTICLE.replace("---\n\n", "tags: &a [x, *a]\n---\n\n# Propio\n")  # the old hooks recursed
    site.build(content_repo, _commit(content_repo, {"docs/kb/cuentas/self.md": own.encode()}))
    served = site.served_dir()
    assert served is not None
    page = (served / "kb" / "cuentas" / "self" / "index.html").read_text()
    assert "Propio" in page and "kb-meta" not in page  # no front matter: no id, no owner box
    laughs = "&l0 [" + ", ".join(["lol"] * 9) + "]"
    for n in range(1, 9):
        laughs = (
            f"&l{n} [{', '.join([laughs] + [f'*l{n - 1}'] * 8)}]"  # 9**9 values: the old hooks walked them
        )
    bomb = ARTICLE.replace("---\n\n", f"symptoms: {laughs}\n---\n\n# Bomba\n")
    site.build(content_repo, _commit(content_repo, {"docs/kb/cuentas/bomb.md": bomb.encode()}))
    served = site.served_dir()
    assert served is not None and "Bomba" in (served / "kb" / "cuentas" / "bomb" / "index.html").read_text()
