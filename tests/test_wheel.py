"""The built wheel, installed from the runtime lock into a clean virtual environment outside the checkout,
seeds a content repository with `kb init` and serves it with `kb serve`: templates, static files, the site's
theme and the starter content all come from the installed package.

It takes about half a minute of CPU (most of it installing the runtime lock, from the files `make` keeps in
.venv/wheels when they are there), so it runs in CI (`CI=true`) or when KB_TEST_WHEEL=1.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from kbserver.settings import PROJECT_ROOT

pytestmark = pytest.mark.skipif(
    os.environ.get("CI") != "true" and os.environ.get("KB_TEST_WHEEL") != "1",
    reason="builds and installs the wheel (about 30 s): runs in CI, or with KB_TEST_WHEEL=1",
)
# The locked files that `make` downloaded (hashes checked) beside the environment running the tests.
WHEELHOUSE = Path(os.environ.get("KB_TEST_WHEELHOUSE") or Path(sys.prefix) / "wheels")


def _run(*command: str | Path, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_for(url: str, status: int, serve: subprocess.Popen[bytes], seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        assert serve.poll() is None, f"kb serve exited with {serve.returncode}"
        try:
            last, body = _get(url)
            if last == status:
                return body
            last = (last, body[:300])
        except OSError as error:
            last = error
        time.sleep(0.25)
    raise AssertionError(f"{url} did not answer {status} within {seconds} s; last: {last}")


def test_wheel_installs_outside_the_checkout_and_serves(tmp_path: Path) -> None:
    # The wheel is built from a copy of what it is made of, so the checkout gets no build/ folder.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("kbserver", "approval"):
        shutil.copytree(PROJECT_ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "PYTHON", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    pip = (sys.executable, "-m", "pip")
    _run(
        *pip,
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        tmp_path / "dist",
        source,
        cwd=tmp_path,
        env=env,
    )
    [wheel] = (tmp_path / "dist").glob("kbserver-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for packaged in (
        "kbserver/console/templates/login.html",
        "kbserver/console/static/console.css",
        "kbserver/theme/main.html",
        "kbserver/starter/mkdocs.yml",
        "kbserver/starter/docs/kb/index.md",
    ):
        assert packaged in names

    venv = tmp_path / "venv"
    # A clean environment (no site packages), filled by this environment's pip (quicker than its own).
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path, env=env)
    bin_dir = venv / "bin"
    install = (*pip, "--python", bin_dir / "python", "install", "-q")
    offline = ("--no-index", "--find-links", WHEELHOUSE) if WHEELHOUSE.is_dir() else ()
    lock = PROJECT_ROOT / "requirements" / "runtime.txt"
    _run(*install, *offline, "--require-hashes", "-r", lock, cwd=tmp_path, env=env)
    _run(*install, "--no-deps", wheel, cwd=tmp_path, env=env)
    where = _run(bin_dir / "python", "-c", "import kbserver; print(kbserver.__file__)", cwd=tmp_path, env=env)
    assert Path(where.strip()).is_relative_to(venv), where  # the installed copy, not the checkout

    out = _run(bin_dir / "kb", "init", tmp_path / "content", cwd=tmp_path, env=env)
    assert "Created content repository" in out

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [str(bin_dir / "kb"), "serve", "--repo", "content", "--data-dir", "data", "--port", str(port)],
        cwd=tmp_path,
        env=env | {"KB_LOG_LEVEL": "warning"},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        health = json.loads(_wait_for(f"{base}/api/health", 200, serve, 60))
        assert health["status"] == "ok"
        assert b"<form" in _wait_for(f"{base}/app/login", 200, serve, 5)  # the console's templates
        assert _wait_for(f"{base}/app/static/console.css", 200, serve, 5)  # and static files
        # Ready once the site is built, which takes the packaged theme overrides and the starter content.
        ready = json.loads(_wait_for(f"{base}/api/health/ready", 200, serve, 90))
        assert ready["status"] == "ready"
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
        log.close()
    assert serve.returncode == 0, (tmp_path / "serve.log").read_text()
