"""Lint refuses what could run code or script: mkdocs.yml keys and tags, dangerous URL schemes, published file
types, symbolic links; submit refuses them too, and `kb init --from` never follows a link out (issue 11)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from kbserver.cli import main
from kbserver.content.checks import lint_commit, lint_directory
from kbserver.errors import InvalidInput
from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from kbserver.resources import starter_content
from kbserver.services import Services

ARTICLE = "---\nid: KB-0500\ntitle: T\nlang: es\nowner: a\naudience: [L1]\nreview_by: 2030-01-01\n---\n\n"
BAD_CONFIG = """site_name: Sitio
hooks: [docs/h.py]
theme:
  language: es
  custom_dir: docs/theme
markdown_extensions:
  - pymdownx.emoji:
      emoji_index: !!python/name:os.system
extra:
  alternate:
    - {name: Up, link: /../x/, lang: es}
nav:
  - Home: ../../etc/passwd.md
"""


def _content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    (root / "docs" / "kb" / "red").mkdir(parents=True)
    (root / "docs" / "index.md").write_text("# Inicio\n")
    return root


def _found(root: Path) -> set[tuple[str, int, str]]:
    return {
        (f.path, f.line, f.rule)
        for f in lint_directory(root, today=date(2029, 1, 1))
        if f.severity == "error"
    }


def test_mkdocs_yml_keys_and_tags_are_refused_with_their_line(tmp_path: Path) -> None:
    root = _content(tmp_path)
    (root / "mkdocs.yml").write_text(BAD_CONFIG)
    findings = [f for f in lint_directory(root) if f.path == "mkdocs.yml"]
    assert {(f.line, f.rule) for f in findings} == {(n, "site-config") for n in (2, 5, 6, 8, 10, 13)}
    messages = "\n".join(f.message for f in findings)
    for key in ("'hooks'", "'theme.custom_dir'", "'markdown_extensions'", "!!python/name:os.system"):
        assert key in messages
    assert "extra.alternate must be" in messages and "nav must list" in messages


def test_dangerous_url_schemes_are_refused_with_their_line(tmp_path: Path) -> None:
    root = _content(tmp_path)
    lines = [
        "[a](javascript:alert(1))",
        "![i](DATA:image/svg+xml;base64,AAAA)",
        "[b](jav&#x61;script:alert(1))",
        "[r]: vbscript:msgbox(1)",
        '[c](https://example.com/){: href="javascript:alert(1)" }',
        "<javascript:alert(1)>",
        "[fine](https://example.com/) [mail](mailto:a@example.com) data: is fine in prose",
    ]
    (root / "docs" / "kb" / "red" / "a.md").write_text(ARTICLE + "\n\n".join(lines) + "\n")
    unsafe = sorted(line for path, line, rule in _found(root) if rule == "unsafe-url")
    assert unsafe == [10, 12, 14, 16, 18, 20]


def test_only_published_file_types_and_no_symlinks_in_content(tmp_path: Path) -> None:
    root = _content(tmp_path)
    for name in ("p.js", "p.html", "p.svg", "p.css", "ok.png", "ok.pdf", "ok.xlsx", "noext"):
        (root / "docs" / "kb" / name).write_bytes(b"x")
    (root / "docs" / "kb" / "red" / "passwd.md").symlink_to("/etc/passwd")
    found = _found(root)
    types = {path.rsplit("/", 1)[-1] for path, _line, rule in found if rule == "asset-type"}
    assert types == {"p.js", "p.html", "p.svg", "p.css", "noext"}
    assert ("docs/kb/red/passwd.md", 1, "symlink") in found
    assert not any("root:" in str(f) for f in lint_directory(root))  # never read through the link


def test_a_committed_symlink_is_refused(content_repo: ContentRepository, tmp_path: Path) -> None:
    work = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(content_repo.path), str(work)], check=True)
    (work / "docs" / "kb" / "evil.md").symlink_to("/etc/passwd")
    subprocess.run(["git", "-C", str(work), "add", "."], check=True)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", "link"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "main"], check=True)
    findings = lint_commit(content_repo, "main")
    assert [(f.path, f.rule) for f in findings if f.severity == "error"] == [("docs/kb/evil.md", "symlink")]


@pytest.mark.parametrize(
    ("path", "text", "rule"),
    [
        ("mkdocs.yml", b"site_name: x\nhooks: [docs/h.py]\n", "site-config"),
        ("docs/assets/p.js", b"alert(1)\n", "asset-type"),
        ("docs/kb/red-vpn/x.md", (ARTICLE + "[a](javascript:alert(1))\n").encode(), "unsafe-url"),
    ],
)
def test_submit_refuses_them(services: Services, path: str, text: bytes, rule: str) -> None:
    lead = services.users.add("lead1", "lead", "s3cret-password")
    change = services.workflow.create(lead, "Cambio peligroso")
    services.workflow.write(lead, change.number, {path: text}, change.head_commit, "edit")
    with pytest.raises(InvalidInput) as refused:
        services.workflow.submit(lead, change.number)
    assert [(f["path"], f["rule"]) for f in refused.value.details["findings"]] == [(path, rule)]


def test_init_from_refuses_a_link_out_of_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "source"
    shutil.copytree(starter_content() / "docs", source / "docs")
    (source / "docs" / "kb" / "secret.md").symlink_to("/etc/passwd")
    assert main(["init", str(tmp_path / "repo"), "--from", str(source)]) == 2
    assert "symbolic link out of" in capsys.readouterr().err
    assert not (tmp_path / "repo").exists() or not any((tmp_path / "repo").iterdir())
    (source / "docs" / "kb" / "secret.md").unlink()
    (source / "docs" / "kb" / "same.md").symlink_to(source / "docs" / "index.md")  # inside: read as a file
    (source / "overrides").mkdir()
    (source / "overrides" / "main.html").write_text("theme of the content's own")
    assert main(["init", str(tmp_path / "repo2"), "--from", str(source)]) == 0
    repo = ContentRepository(tmp_path / "repo2")
    assert repo.symlinks("main", prefix="") == []
    assert repo.read("main", "docs/kb/same.md") == (source / "docs" / "index.md").read_bytes()
    assert repo.read("main", "overrides/main.html") is None  # the theme is the service's own


def test_the_commit_helper_agrees(content_repo: ContentRepository) -> None:
    commit = content_repo.commit_files(
        "main", {"docs/kb/x.svg": b"<svg/>"}, "svg", SERVICE_AUTHOR, content_repo.head("main")
    )
    assert [(f.path, f.rule) for f in lint_commit(content_repo, commit) if f.severity == "error"] == [
        ("docs/kb/x.svg", "asset-type")
    ]


def test_kb_lint_reports_an_invalid_policy_file_with_its_line(
    tmp_path: Path, content_repo: ContentRepository
) -> None:
    root = _content(tmp_path)
    (root / "approvals.yml").write_text('rules:\n  - paths: ["docs/**"]\n    approvals: {lead: one}\n')
    assert ("approvals.yml", 2, "approval-policy") in _found(root)
    commit = content_repo.commit_files(
        "main", {"approvals.yml": b"rules: {}\n"}, "bad policy", SERVICE_AUTHOR, content_repo.head("main")
    )
    assert ("approvals.yml", "approval-policy") in {
        (f.path, f.rule) for f in lint_commit(content_repo, commit) if f.severity == "error"
    }


@pytest.mark.parametrize("kind", ["symlink", "file"])
def test_docs_that_is_not_a_folder_is_a_finding_not_a_crash(
    content_repo: ContentRepository, tmp_path: Path, kind: str
) -> None:
    work = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(content_repo.path), str(work)], check=True)
    shutil.rmtree(work / "docs")
    if kind == "symlink":
        (work / "docs").symlink_to("/etc")
    else:
        (work / "docs").write_text("not a folder\n")
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", "docs replaced"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "main"], check=True)
    assert list(content_repo.files(content_repo.resolve("main"))) == []  # nothing below a non-folder
    findings = [(f.path, f.rule) for f in lint_commit(content_repo, "main") if f.severity == "error"]
    assert findings == ([("docs", "symlink")] if kind == "symlink" else [])
