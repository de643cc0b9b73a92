"""The CLI end to end: init, users without a terminal, tokens, build, errors with exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kbserver.cli import main
from kbserver.repository import ContentRepository
from kbserver.resources import starter_content
from kbserver.services import Services
from kbserver.settings import Settings


def test_init_user_token_and_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, data = tmp_path / "content", tmp_path / "data"
    common = ["--repo", str(repo), "--data-dir", str(data)]
    assert main(["init", str(repo), "--from", str(starter_content())]) == 0
    assert "Created content repository" in capsys.readouterr().out
    assert ContentRepository(repo).head("main")

    monkeypatch.setattr("sys.stdin", io.StringIO("una-clave-larga\n"))
    assert main(["user", "add", "lucia", "--role", "lead", "--password-stdin", *common]) == 0
    assert main(["user", "token", "lucia", *common]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("kb_")
    assert main(["user", "list", "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {
            "name": "lucia",
            "display_name": "lucia",
            "email": "lucia@localhost",
            "role": "lead",
            "disabled": False,
        }
    ]
    services = Services.open(Settings(repo=repo, data_dir=data))
    try:
        assert services.users.user_for_token(token) is not None
        assert main(["build", *common]) == 0
        assert services.site.served_commit() == services.main_commit()
    finally:
        services.close()


def test_errors_give_a_message_and_nonzero_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "c"), "--from", str(tmp_path)]) == 2
    assert "has no docs/ folder" in capsys.readouterr().err
    assert main(["user", "add", "Bad Name!", "--role", "operator", "--data-dir", str(tmp_path / "d")]) == 2
    assert "invalid user name" in capsys.readouterr().err
    assert main(["build", "--repo", str(tmp_path / "nothing"), "--data-dir", str(tmp_path / "d")]) == 2
    assert "is not a content repository" in capsys.readouterr().err


def test_user_passwd_enable_and_one_token_revoked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--repo", str(tmp_path / "content"), "--data-dir", str(tmp_path / "data")]
    assert main(["init", str(tmp_path / "content")]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("una-clave-larga\n"))
    assert main(["user", "add", "lucia", "--role", "admin", "--password-stdin", *common]) == 0
    assert main(["user", "add", "pablo", "--role", "operator", *common]) == 0
    assert main(["user", "token", "pablo", "--label", "informes", *common]) == 0
    assert main(["user", "token", "pablo", *common]) == 0
    first, second = capsys.readouterr().out.split()[-2:]
    assert main(["user", "tokens", "pablo", "--json", *common]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["label"] for t in listed] == ["informes", ""] and first not in str(listed)
    assert main(["user", "revoke", "pablo", str(listed[0]["id"]), *common]) == 0
    services = Services.open(Settings(repo=tmp_path / "content", data_dir=tmp_path / "data"))
    try:
        assert services.users.user_for_token(first) is None
        assert services.users.user_for_token(second) is not None
        lucia = services.users.get("lucia")
        session, _ = services.users.start_session(lucia, 1)
        lucia_token = services.users.issue_token("lucia")
        monkeypatch.setattr("sys.stdin", io.StringIO("otra-clave-larga\n"))
        assert main(["user", "passwd", "lucia", "--password-stdin", *common]) == 0
        assert "sessions and API tokens are ended" in capsys.readouterr().out
        assert services.users.session(session) is None
        assert services.users.user_for_token(lucia_token) is None
        assert main(["user", "disable", "lucia", *common]) == 2  # the last active admin
        assert "last active admin" in capsys.readouterr().err
        assert main(["user", "disable", "pablo", *common]) == 0
        assert main(["user", "enable", "pablo", *common]) == 0
        assert services.users.get("pablo").disabled is False
    finally:
        services.close()


@pytest.mark.parametrize(
    "extra",
    [
        ["--display-name", "Eva\nApproved-by: X <x@x> (approver)"],
        ["--email", "eva@x\nB"],
        ["--role", "admin"],
    ],
)
def test_user_add_refuses_what_is_not_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    common = ["--repo", str(tmp_path / "content"), "--data-dir", str(tmp_path / "data")]
    name = "admin\n" if extra[0] == "--role" else "eva"
    role = [] if extra[0] == "--role" else ["--role", "approver"]
    assert main(["user", "add", name, *role, *extra, *common]) == 2
    assert capsys.readouterr().err.startswith("error: ")
