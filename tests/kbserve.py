"""The real `kb serve` in a child process, on a free port, for the tests of logs and metrics over workers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """GET url on a new connection: status, body and headers (lower-case names), whatever the status."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}


@contextmanager
def kb_serve(
    repo: Path, data: Path, log: Path, workers: int = 1, settings: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Run `kb serve --workers N` with standard error in log (standard output beside it, as *.stdout) until
    its index is ready and (with several, at KB_LOG_LEVEL=info) every worker has started; yields its base
    URL, and stops it on exit."""
    port = free_port()
    env = {
        **os.environ,
        "KB_REPO": str(repo),
        "KB_DATA_DIR": str(data),
        "KB_PORT": str(port),
        "KB_PUBLIC_READ": "true",
        "KB_SITE_AUTOBUILD": "false",  # no mkdocs build: the index is enough to search
        **(settings or {}),
    }
    kb = Path(sys.executable).with_name("kb")
    with log.open("wb") as errors, log.with_suffix(".stdout").open("wb") as output:
        serve = subprocess.Popen(
            [str(kb), "serve", "--workers", str(workers)], env=env, stdout=output, stderr=errors
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            ready = False
            while not ready and time.monotonic() < deadline and serve.poll() is None:
                try:
                    status, body, _ = get(f"{base}/api/health")
                    # Several workers: each says so at info (the tests that start several log at info).
                    started = workers == 1 or log.read_text().count("Application startup complete") >= workers
                    ready = status == 200 and json.loads(body)["index"]["ready"] and started
                except OSError:
                    pass
                time.sleep(0.2)
            assert ready, log.read_text()
            yield base
        finally:
            serve.terminate()
            serve.wait(30)
