"""Lint on the starter content and on a fixture set with one of each mistake."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kbserver.cli import main
from kbserver.content import Corpus
from kbserver.content.checks import lint_commit, lint_directory
from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from kbserver.resources import starter_content

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "bad-content"


def test_starter_content_has_no_errors() -> None:
    findings = lint_directory(starter_content())
    assert [str(f) for f in findings if f.severity == "error"] == []


def test_starter_content_size() -> None:
    corpus = Corpus.from_directory(starter_content())
    kinds = [d.kind.value for d in corpus.documents.values() if d.kind]
    categories = {d.category for d in corpus.documents.values() if d.category}
    assert kinds.count("article") >= 30
    assert kinds.count("script") >= 8
    assert kinds.count("procedure") >= 8
    assert len(categories) >= 6
    translations = [d for d in corpus.documents.values() if d.meta and d.meta.translation_of]
    assert len({d.meta.translation_of for d in translations if d.meta}) >= 3
    spanish = sum(1 for d in corpus.documents.values() if d.meta and d.meta.lang == "es")
    assert spanish > len(kinds) / 2


def test_each_mistake_is_reported_with_file_line_and_rule() -> None:
    found = {(f.path, f.line, f.rule) for f in lint_directory(BAD, today=date(2030, 1, 1))}
    expected = {
        ("docs/kb/red/bad-yaml.md", 5, "front-matter-yaml"),
        ("docs/kb/red/no-id.md", 1, "schema"),
        ("docs/kb/red/duplicate.md", 2, "duplicate-id"),
        ("docs/kb/red/good.md", 2, "duplicate-id"),
        ("docs/kb/red/broken-link.md", 12, "broken-link"),
        ("docs/kb/red/broken-link.md", 14, "broken-anchor"),
        ("docs/scripts/bad-script.md", 14, "undeclared-placeholder"),
        ("docs/scripts/bad-script.md", 16, "missing-step"),
        ("docs/scripts/bad-script.md", 18, "unreachable-step"),
        ("docs/procedures/01-wrong-prefix.md", 2, "id-format"),
    }
    assert expected <= found, sorted(expected - found)


def test_a_broken_file_does_not_stop_the_others() -> None:
    corpus = Corpus.from_directory(BAD)
    good = corpus.documents["docs/kb/red/good.md"]
    assert good.meta is not None and good.meta.id == "KB-0100"
    assert corpus.documents["docs/kb/red/bad-yaml.md"].meta is None


def test_cli_prints_path_line_rule_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(BAD)]) == 1
    out = capsys.readouterr().out
    assert "docs/scripts/bad-script.md:14: undeclared-placeholder: {{ ticket }} is not declared" in out
    assert "docs/kb/red/bad-yaml.md:5: front-matter-yaml: invalid YAML" in out


def test_cli_json_and_exit_0_on_warnings_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(starter_content()), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["errors"] == 0
    assert any(f["rule"] == "review-overdue" for f in report["findings"])


def _commit(repo: ContentRepository, changes: dict[str, bytes | None], message: str) -> str:
    head = repo.head("main")
    return repo.commit_files("main", changes, message, SERVICE_AUTHOR, expected_head=head)


def test_reusing_a_deleted_id_and_stale_translation(content_repo: ContentRepository) -> None:
    first = content_repo.head("main")
    assert first is not None
    source = content_repo.read(first, "docs/kb/red-vpn/vpn-no-conecta.md")
    translation = content_repo.read(first, "docs/kb/red-vpn/vpn-not-connecting.md")
    retired = content_repo.read(first, "docs/kb/dispositivos/monitor-externo.md")
    assert source and translation and retired
    pinned = translation.replace(
        b"translation_of: KB-0011\n", f"translation_of: KB-0011\nsource_commit: {first}\n".encode()
    )
    _commit(content_repo, {"docs/kb/red-vpn/vpn-not-connecting.md": pinned}, "pin translation")
    assert [f for f in lint_commit(content_repo, "main") if f.rule == "translation-stale"] == []
    _commit(content_repo, {"docs/kb/red-vpn/vpn-no-conecta.md": source + b"\nNuevo paso.\n"}, "edit source")
    _commit(content_repo, {"docs/kb/dispositivos/monitor-externo.md": None}, "delete")
    _commit(content_repo, {"docs/kb/dispositivos/pantalla.md": retired}, "reuse the id")
    findings = {(f.path, f.rule, f.severity) for f in lint_commit(content_repo, "main")}
    assert ("docs/kb/red-vpn/vpn-not-connecting.md", "translation-stale", "warning") in findings
    assert ("docs/kb/dispositivos/pantalla.md", "id-reused", "error") in findings


def test_lint_change_checks_the_change_against_all_content(content_repo: ContentRepository) -> None:
    from kbserver.content.checks import lint_change

    main = content_repo.resolve("main")
    content_repo.create_branch("change/1-x", main)
    article = content_repo.read(main, "docs/kb/red-vpn/vpn-lenta.md") or b""
    copy = article.replace(b"KB-0012", b"KB-0001")  # the id of an untouched article
    broken = article + b"\n[ver](vpn-no-conecta.md#no-hay-tal)\n"
    head = content_repo.commit_files(
        "change/1-x",
        {"docs/kb/red-vpn/copia.md": copy, "docs/kb/red-vpn/vpn-lenta.md": broken},
        "edit",
        SERVICE_AUTHOR,
        main,
    )
    found = {(f.path, f.rule) for f in lint_change(content_repo, main, head)}
    assert ("docs/kb/red-vpn/copia.md", "duplicate-id") in found
    assert ("docs/kb/red-vpn/vpn-lenta.md", "broken-anchor") in found
    assert {path for path, _ in found} <= {"docs/kb/red-vpn/copia.md", "docs/kb/red-vpn/vpn-lenta.md"}
