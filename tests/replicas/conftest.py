"""An upstream repository served over a real git transport (`git daemon`), and plain-git helpers."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.kbserve import free_port


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git; its standard output (stripped); fails the test with git's message otherwise."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """`git daemon` serving the repositories below base (push allowed) on a free loopback port; yields its
    git:// URL prefix."""
    port = free_port()
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            f"--base-path={base}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(base),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and daemon.poll() is None, "git daemon did not start"
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        daemon.terminate()
        daemon.wait(10)


@pytest.fixture
def upstream_repo(seeded_repo_template: Path, tmp_path: Path) -> Path:
    """A bare upstream repository holding the starter content, as a desk's GitLab would."""
    bare = tmp_path / "served" / "content.git"
    git("clone", "--quiet", "--bare", str(seeded_repo_template), str(bare))
    return bare


@pytest.fixture
def upstream_url(upstream_repo: Path) -> Iterator[str]:
    """The upstream over git://, served until the test ends."""
    with git_daemon(upstream_repo.parent) as prefix:
        yield f"{prefix}/{upstream_repo.name}"


def push_around_the_workflow(url: str, work: Path, path: str, text: str, message: str) -> str:
    """As a person working in plain git: clone url, commit text to path on main, push; returns the commit."""
    git("clone", "--quiet", url, str(work))
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    git("add", path, cwd=work)
    git("commit", "--quiet", "-m", message, cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)
