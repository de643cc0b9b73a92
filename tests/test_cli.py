"""The CLI end to end: init, users without a terminal, tokens, build, errors with exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from kbserver.cli import main
from kbserver.repository import ContentRepository
from kbserver.services import Services
from kbserver.settings import PROJECT_ROOT, Settings


def test_init_user_token_and_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, data = tmp_path / "content", tmp_path / "data"
    common = ["--repo", str(repo), "--data-dir", str(data)]
    assert main(["init", str(repo), "--from", str(PROJECT_ROOT)]) == 0
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
