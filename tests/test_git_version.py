"""`kb init` and `kb serve` refuse a git older than 2.38 (merges need `git merge-tree --write-tree`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from kbserver.cli import main
from kbserver.errors import RepositoryError
from kbserver.repository.gitversion import MINIMUM, require_git


def _fake_git(folder: Path, monkeypatch: pytest.MonkeyPatch, says: str) -> None:
    """A `git` first on the PATH that answers every command with says."""
    folder.mkdir()
    script = folder / "git"
    script.write_text(f"#!/bin/sh\necho '{says}'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_init_and_serve_name_an_old_git_and_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_git(tmp_path / "bin", monkeypatch, "git version 2.30.2")
    assert main(["init", str(tmp_path / "content")]) == 2
    err = capsys.readouterr().err
    assert "git 2.30.2 is too old" in err and "2.38 or later" in err and "merge-tree --write-tree" in err
    assert not (tmp_path / "content").exists()  # nothing was made with it
    common = ["--repo", str(tmp_path / "content"), "--data-dir", str(tmp_path / "data")]
    assert main(["serve", *common, "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "git 2.30.2 is too old" in err
    assert not (tmp_path / "data").exists()  # stopped before opening anything


@pytest.mark.parametrize(
    ("says", "ok"),
    [
        ("git version 2.37.7", False),
        ("git version 1.99.0", False),
        ("git version 2.38.0", True),
        ("git version 2.39.3 (Apple Git-146)", True),
        ("git version 3.0.0.windows.1", True),
        ("not git at all", False),
    ],
)
def test_the_version_is_compared_by_its_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, says: str, ok: bool
) -> None:
    _fake_git(tmp_path / "bin", monkeypatch, says)
    if ok:
        assert require_git() == says.split()[2]
    else:
        with pytest.raises(RepositoryError, match="too old"):
            require_git()


def test_the_git_this_machine_runs_is_new_enough() -> None:
    found = re.match(r"(\d+)\.(\d+)", require_git())
    assert found and (int(found[1]), int(found[2])) >= MINIMUM
