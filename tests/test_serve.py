"""Killing `kb serve` ends its site build too (issue 11): no `mkdocs build` is left running as the service."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kbserver.repository import SERVICE_AUTHOR, ContentRepository

ARTICLE = (
    "---\nid: KB-{n:04d}\ntitle: Página {n}\nlang: es\nowner: a\naudience: [L1]\nreview_by: 2030-01-01\n---\n"
)


def _builds_of(parent: int) -> list[int]:
    """Processes whose parent is parent and that run a site build."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and (b"mkdocs" in command or b"sitebuild" in command):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "terminate"])
def test_killing_kb_serve_ends_its_site_build(
    content_repo: ContentRepository, tmp_path: Path, how: int
) -> None:
    pages = {
        f"docs/kb/red-vpn/p{n}.md": (ARTICLE.format(n=5000 + n) + "Texto.\n" * 50).encode()
        for n in range(300)
    }
    content_repo.commit_files("main", pages, "many pages", SERVICE_AUTHOR, content_repo.head("main"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "KB_REPO": str(content_repo.path),
        "KB_DATA_DIR": str(tmp_path / "data"),
        "KB_PORT": str(port),
        "KB_LOG_LEVEL": "warning",
    }
    kb = Path(sys.executable).with_name("kb")
    serve = subprocess.Popen(
        [str(kb), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    builds: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not builds and time.monotonic() < deadline and serve.poll() is None:
            builds = _builds_of(serve.pid)
            time.sleep(0.02)
        assert builds, "the site build never started"
        serve.send_signal(how)
        serve.wait(30)
        deadline = time.monotonic() + 3  # an orphan would run on until its next log line
        while any(_alive(pid) for pid in builds) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in builds)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        for pid in builds:  # only what this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
