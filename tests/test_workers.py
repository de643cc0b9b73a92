"""`kb serve --workers 2` spreads keep-alive connections across its workers (issue 12's search throughput),
each worker logs and answers readiness, and stopping `kb serve` leaves no worker behind (issue 13)."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kbserver.repository import ContentRepository

CONNECTIONS = 40


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(conn: socket.socket, path: str) -> tuple[int, bytes]:
    """One HTTP/1.1 request on an open keep-alive connection; the connection stays open."""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: kb\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: (\d+)", head)[1])  # type: ignore[index]
    while len(body) < length:
        body += conn.recv(65536)
    return int(head.split()[1]), body


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _server_socket_inodes(port: int) -> dict[int, int]:
    """For each established connection to port: the client's port -> the inode of the server's socket."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:  # 01: ESTABLISHED
                found[int(remote.rsplit(":", 1)[1], 16)] = inode
    return found


def _owner_of_sockets(pids: list[int]) -> dict[int, int]:
    """Socket inode -> the pid (among pids) that holds it open."""
    owners = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owners[int(target[8:-1])] = pid
    return owners


def test_keep_alive_connections_spread_across_workers_and_stop_leaves_none(
    content_repo: ContentRepository, tmp_path: Path
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "KB_REPO": str(content_repo.path),
        "KB_DATA_DIR": str(tmp_path / "data"),
        "KB_PORT": str(port),
        "KB_LOG_LEVEL": "info",
        "KB_SITE_AUTOBUILD": "false",  # readiness then names the site as missing: enough to see it answer
    }
    kb = Path(sys.executable).with_name("kb")
    output = tmp_path / "serve.log"
    connections: list[socket.socket] = []
    workers: list[int] = []
    children: list[int] = []
    with output.open("wb") as sink:
        serve = subprocess.Popen(
            [str(kb), "serve", "--workers", "2"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 90
            started: list[str] = []
            while len(started) < 2 and time.monotonic() < deadline and serve.poll() is None:
                started = re.findall(
                    r"\[(\d+)\] uvicorn.error: Application startup complete", output.read_text()
                )
                time.sleep(0.2)
            assert len(started) == 2, output.read_text()  # each worker configured its logging
            children = _children(serve.pid)  # the workers, and multiprocessing's resource tracker
            workers = [int(pid) for pid in started]
            assert set(workers) <= set(children)

            # All connected at once, as a load generator's pool does; then each asks on its own connection.
            connections = [
                socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(CONNECTIONS)
            ]
            for conn in connections:
                status, body = _request(conn, "/api/health/ready")
                assert status == 503 and "site" in json.loads(body)["not_ready"]  # readiness, per worker
            for conn in connections:  # still the same keep-alive connections
                assert _request(conn, "/api/health")[0] == 200

            inodes = _server_socket_inodes(port)
            owners = _owner_of_sockets(workers)
            served = collections.Counter(owners.get(inodes.get(c.getsockname()[1], -1)) for c in connections)
            assert None not in served, served  # every connection is held by one of the workers
            assert len(served) == 2, f"all {CONNECTIONS} connections went to one worker: {served}"
            assert max(served.values()) <= CONNECTIONS * 0.85, served
        finally:
            for conn in connections:
                conn.close()
            serve.send_signal(signal.SIGTERM)
            try:
                code = serve.wait(40)
            except subprocess.TimeoutExpired:
                serve.kill()
                code = serve.wait()
            deadline = time.monotonic() + 5
            while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
                time.sleep(0.1)
            left = [pid for pid in children if _alive(pid)]
            for pid in left:  # only what this test started
                os.kill(pid, signal.SIGKILL)
    assert code == 0, output.read_text()
    assert left == [], "processes of kb serve outlived it"
    assert "Application shutdown complete" in output.read_text()


def test_a_port_in_use_is_refused_with_a_message(content_repo: ContentRepository, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {
            **os.environ,
            "KB_REPO": str(content_repo.path),
            "KB_DATA_DIR": str(tmp_path / "data"),
            "KB_PORT": str(taken.getsockname()[1]),
            "KB_LOG_LEVEL": "warning",
        }
        kb = Path(sys.executable).with_name("kb")
        done = subprocess.run(
            [str(kb), "serve", "--workers", "2"], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2
    assert "cannot listen on 127.0.0.1:" in done.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT balances connections on Linux only")
def test_reuse_port_is_used_on_linux() -> None:
    from kbserver.workers import reuse_port_spreads

    assert reuse_port_spreads()
