"""The change-request workflow from the CLI, and `kb verify` finding a commit made around it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kbserver.cli import main
from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from kbserver.resources import starter_content


def test_cli_propose_review_merge_and_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, data = tmp_path / "content", tmp_path / "data"
    common = ["--repo", str(repo), "--data-dir", str(data)]
    assert main(["init", str(repo), "--from", str(starter_content())]) == 0
    for name, role in (("lucia", "lead"), ("marco", "lead"), ("ana", "operator")):
        monkeypatch.setattr("sys.stdin", io.StringIO("una-clave-larga\n"))
        assert main(["user", "add", name, "--role", role, "--password-stdin", *common]) == 0
    assert main(["change", "new", "Aclarar la VPN lenta", "--as", "lucia", *common]) == 0
    assert "CR-1 created on branch change/1-aclarar-la-vpn-lenta" in capsys.readouterr().out
    path = "docs/kb/red-vpn/vpn-lenta.md"
    text = ContentRepository(repo).read(ContentRepository(repo).resolve("main"), path)
    assert text
    monkeypatch.setattr("sys.stdin", io.StringIO(text.decode() + "\nConsejo nuevo.\n"))
    assert main(["change", "edit", "1", path, "--as", "lucia", *common]) == 0
    assert main(["change", "submit", "1", "--as", "lucia", *common]) == 0
    assert main(["change", "approve", "1", "--as", "lucia", *common]) == 2  # self-approval
    assert "cannot review" in capsys.readouterr().err
    assert main(["change", "approve", "1", "--as", "ana", *common]) == 2  # an operator
    assert main(["change", "approve", "1", "--as", "marco", *common]) == 0
    assert main(["change", "merge", "1", "--as", "lucia", *common]) == 0
    assert "CR-1 merged as" in capsys.readouterr().out
    assert main(["change", "log", "1", *common]) == 0
    assert "merge" in capsys.readouterr().out
    assert main(["verify", *common]) == 0
    content = ContentRepository(repo)
    content.commit_files("main", {path: b"pushed around\n"}, "hotfix", SERVICE_AUTHOR, content.head("main"))
    assert main(["verify", *common]) == 1
    assert "committed around the workflow" in capsys.readouterr().out


def test_cli_four_eyes_titles_and_verify_of_a_co_authored_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, data = tmp_path / "content", tmp_path / "data"
    common = ["--repo", str(repo), "--data-dir", str(data)]
    assert main(["init", str(repo), "--from", str(starter_content())]) == 0
    for name in ("lucia", "marco", "sara"):
        assert main(["user", "add", name, "--role", "lead", "--email", f"{name}@desk.example", *common]) == 0
    assert main(["change", "new", "Dos líneas\nApproved-by: X <x@x> (lead)", "--as", "lucia", *common]) == 2
    assert "single line" in capsys.readouterr().err
    assert main(["change", "new", "Aclarar la VPN lenta", "--as", "lucia", *common]) == 0
    content = ContentRepository(repo)
    path = "docs/kb/red-vpn/vpn-lenta.md"
    for name, line in (("lucia", "Consejo de Lucía."), ("marco", "Texto de Marco.")):
        text = content.read(content.resolve("change/1-aclarar-la-vpn-lenta"), path) or b""
        monkeypatch.setattr("sys.stdin", io.StringIO(text.decode() + f"\n{line}\n"))
        assert main(["change", "edit", "1", path, "--as", name, *common]) == 0
    assert main(["change", "submit", "1", "--as", "lucia", *common]) == 0
    capsys.readouterr()
    assert main(["change", "approve", "1", "--as", "marco", *common]) == 2
    assert "wrote commits in CR-1" in capsys.readouterr().err
    # Merged around the workflow, naming the co-author as the approver: verify sees who wrote what.
    head = content.resolve("change/1-aclarar-la-vpn-lenta")
    message = "Merge CR-1: x\n\nChange-Request: CR-1\nApproved-by: Marco <marco@desk.example> (lead)\n"
    content.merge("main", content.resolve("main"), head, message, SERVICE_AUTHOR)
    assert main(["verify", *common]) == 1
    out = capsys.readouterr().out
    assert "Marco <marco@desk.example> (lead): authored a commit of the change" in out


def test_change_list_json_and_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    repo, data = tmp_path / "content", tmp_path / "data"
    common = ["--repo", str(repo), "--data-dir", str(data)]
    assert main(["init", str(repo), "--from", str(starter_content())]) == 0
    assert main(["user", "add", "lucia", "--role", "lead", *common]) == 0
    assert main(["change", "new", "Aclarar la VPN lenta", "--as", "lucia", *common]) == 0
    capsys.readouterr()
    assert main(["change", "list", "--json", *common]) == 0
    listed = json.loads(capsys.readouterr().out)  # issue 13: this printed the text table
    assert [(c["ref"], c["state"], c["author"]) for c in listed] == [("CR-1", "draft", "lucia")]
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("kb 0.")
