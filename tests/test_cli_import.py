"""`kb import markdown`: third-party Markdown becomes a change request that lints clean; main never moves."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kbserver.cli import main
from kbserver.content import Corpus, lint_corpus, parse_document
from kbserver.content.checks import lint_commit
from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from kbserver.resources import starter_content

FOREIGN = {
    # Foreign front matter, a title that the H1 repeats, and a name the site keeps for navigation pages.
    "Printing/index.md": (
        "---\nid: app.en.index\ntype: kb\ntitle: Printing\nlang: en\nx-weight: 3\n---\n\n"
        "# Printing\n\nStart with [the setup](setup_Guide.md).\n\n## Section\n\nText.\n"
    ),
    # No title key: the H1 is the title. A status the product does not know goes under meta.
    "Printing/setup_Guide.md": (
        "---\nid: app.en.setup\ntype: kb\ntags: [printer]\nstatus: draft\n---\n"
        "# Set up a printer\n\nOpen the settings.\n"
    ),
    # Nested, no front matter; links to the renamed index (with an anchor) and to an image.
    "Printing/Drivers/linux.md": (
        "# Linux drivers\n\nSee [the overview](../index.md#section) and ![a shot](../shot.png).\n\n"
        "```\n[not a link](../index.md)\n```\n"
    ),
    # A different H1 is content, not the title: it stays.
    "Printing/queue.md": "---\ntitle: Print queue\n---\n\n# Clearing the queue\n\nCancel the jobs.\n",
    "README.md": "# Welcome\n\nAbout these [printing pages](Printing/index.md).\n",
}


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "manual"
    for rel, text in FOREIGN.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    (folder / "Printing/shot.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "Printing/notes.html").write_text("<script>alert(1)</script>")
    return folder


def _setup(tmp_path: Path) -> tuple[ContentRepository, list[str]]:
    repo, data = tmp_path / "content", tmp_path / "data"
    common = ["--repo", str(repo), "--data-dir", str(data)]
    assert main(["init", str(repo), "--from", str(starter_content())]) == 0
    assert main(["user", "add", "ines", "--role", "operator", *common]) == 0
    return ContentRepository(repo), common


def test_import_opens_a_change_request_that_lints_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, common = _setup(tmp_path)
    # The highest id on main is deleted first: its number is never given again.
    corpus = Corpus.from_files(content.files(content.resolve("main")))
    articles = [d for d in corpus.documents.values() if (d.doc_id or "").startswith("KB-")]
    highest = max(articles, key=lambda d: d.doc_id or "")
    content.commit_files("main", {highest.path: None}, "retire", SERVICE_AUTHOR, content.head("main"))
    main_before = content.resolve("main")
    capsys.readouterr()

    argv = ["import", "markdown", str(_folder(tmp_path)), "--as", "ines", "--owner", "desk"]
    code = main([*argv, "--audience", "L1", "L2", "--review-by", "2099-01-31", "--json", *common])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert content.resolve("main") == main_before
    assert out["change_request"] == 1 and out["errors"] == 0
    assert out["skipped"] == [{"path": "Printing/notes.html", "reason": ".html is not published"}]
    paths = {d["source"]: d["path"] for d in out["documents"]}
    assert paths == {
        "Printing/Drivers/linux.md": "docs/kb/printing/drivers/linux.md",
        "Printing/index.md": "docs/kb/printing/printing-index.md",
        "Printing/queue.md": "docs/kb/printing/queue.md",
        "Printing/setup_Guide.md": "docs/kb/printing/setup-guide.md",
        "README.md": "docs/kb/manual/manual-readme.md",
    }
    first = int((highest.doc_id or "").removeprefix("KB-")) + 1
    assert sorted(d["doc_id"] for d in out["documents"]) == [f"KB-{n:04d}" for n in range(first, first + 5)]

    head = content.resolve(out["branch"])
    files = dict(content.files(head))
    docs = {p: parse_document(p, files[p]) for p in paths.values()}
    index = docs["docs/kb/printing/printing-index.md"]
    assert index.meta and index.meta.title == "Printing" and index.meta.lang == "en"
    assert index.meta.meta == {"id": "app.en.index", "type": "kb", "x-weight": 3}
    assert index.meta.owner == "desk" and index.meta.audience == ["L1", "L2"]
    assert "# Printing" not in index.body and "[the setup](setup-guide.md)" in index.body
    setup = docs["docs/kb/printing/setup-guide.md"]
    assert setup.meta and setup.meta.title == "Set up a printer" and "# Set up" not in setup.body
    assert setup.meta.tags == ["printer"] and setup.meta.status == "active"
    assert setup.meta.meta == {"id": "app.en.setup", "type": "kb", "status": "draft"}
    linux = docs["docs/kb/printing/drivers/linux.md"]
    assert linux.meta and linux.meta.meta is None and linux.meta.lang == "es"
    assert "(../printing-index.md#section)" in linux.body and "(../shot.png)" in linux.body
    assert "[not a link](../index.md)" in linux.body  # code is left as written
    queue = docs["docs/kb/printing/queue.md"]
    assert queue.meta and queue.meta.title == "Print queue" and "# Clearing the queue" in queue.body
    assert "(../printing/printing-index.md)" in docs["docs/kb/manual/manual-readme.md"].body
    assert files["docs/kb/printing/shot.png"] == b"\x89PNG\r\n\x1a\n"
    assert "docs/kb/printing/notes.html" not in files
    assert "docs/kb/printing/index.md" in files  # a navigation page for the new category
    assert [f for f in lint_commit(content, head) if f.path in files and f.severity == "error"] == []
    assert [f for f in lint_commit(content, head) if f.path.startswith("docs/kb/printing/")] == []

    assert main(["change", "submit", "1", "--as", "ines", *common]) == 0  # the workflow's own lint agrees

    # A second import while the first is open takes ids after the first's, not the same ones again.
    again = tmp_path / "more"
    again.mkdir()
    (again / "extra.md").write_text("# Extra\n")
    capsys.readouterr()
    assert main(["import", "markdown", str(again), "--as", "ines", "--json", *common]) == 0
    assert [d["doc_id"] for d in json.loads(capsys.readouterr().out)["documents"]] == [f"KB-{first + 5:04d}"]


def test_import_with_lint_errors_opens_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, common = _setup(tmp_path)
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "page.md").write_text("# Page\n\nSee [gone](missing.md).\n")
    (folder / "bad.md").write_text("---\ntitle: [unclosed\n---\n# Bad\n")
    capsys.readouterr()
    assert main(["import", "markdown", str(folder), "--as", "ines", *common]) == 1
    out = capsys.readouterr().out
    assert "docs/kb/broken/page.md:12: broken-link: link target 'missing.md' does not exist" in out
    assert "bad.md:3: front-matter-yaml: invalid YAML" in out
    assert "no change request was opened" in out
    assert main(["change", "list", *common]) == 0
    assert "CR-" not in capsys.readouterr().out
    assert content.branches("change/") == {}


def test_import_refuses_a_symlink_out_of_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, common = _setup(tmp_path)
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\n")
    folder = tmp_path / "manual"
    folder.mkdir()
    (folder / "ok.md").write_text("# Fine\n")
    (folder / "leak.md").symlink_to(secret)
    assert main(["import", "markdown", str(folder), "--as", "ines", *common]) == 2
    assert "symbolic link out of" in capsys.readouterr().err
    assert content.branches("change/") == {}


def test_lint_warns_when_a_navigation_page_carries_an_id() -> None:
    text = b"---\nid: KB-0900\ntitle: Lost\n---\n\n# Lost\n"
    corpus = Corpus.from_files([("docs/kb/red-vpn/index.md", text), ("docs/index.md", b"# Home\n")])
    findings = lint_corpus(corpus, date(2026, 1, 1))
    assert [(f.path, f.line, f.rule, f.severity) for f in findings] == [
        ("docs/kb/red-vpn/index.md", 2, "reserved-name", "warning")
    ]
    assert "red-vpn-index.md" in findings[0].message
