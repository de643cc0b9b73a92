"""Replicas for tests and benchmarks: `kb serve` processes sharing a store and an upstream, behind haproxy."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.kbserve import free_port


class Unavailable(Exception):
    """A part the replica set needs (haproxy) is not installed."""


@dataclass
class Replica:
    """One `kb serve` process with its own repository mirror and data, sharing the store and upstream."""

    name: str
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        kb = str(Path(sys.executable).with_name("kb"))
        with self.log.open("ab") as out:
            env = {**os.environ, **self.env, "KB_PORT": str(self.port)}
            self.process = subprocess.Popen([kb, "serve"], env=env, stdout=out, stderr=out)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def health(self) -> dict[str, object]:
        return dict(httpx.get(f"{self.url}/api/health", timeout=5).json())


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> float:
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        assert time.monotonic() - started < seconds, f"{what}: not within {seconds} s"
        time.sleep(0.1)


@contextmanager
def haproxy(replicas: list[Replica], folder: Path) -> Iterator[str]:
    """haproxy on a free port, round robin over the replicas, each health-checked on /livez every 300 ms.
    Only a refused connection is retried elsewhere: a request a replica took is never sent twice."""
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(binary).exists():
        raise Unavailable("haproxy is not installed (Debian: apt-get install haproxy)")
    port = free_port()
    servers = "\n".join(
        f"  server {r.name} 127.0.0.1:{r.port} check inter 300ms fall 1 rise 2" for r in replicas
    )
    config = folder / "haproxy.cfg"
    config.write_text(
        f"""global
  maxconn 512
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch
  retry-on conn-failure
  # A new connection per request: one reused after its replica died cannot be retried safely.
  http-reuse never
frontend kb
  bind 127.0.0.1:{port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /livez
{servers}
"""
    )
    with (folder / "haproxy.log").open("wb") as out:
        balancer = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=out, stderr=out)
    try:
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{port}/livez", timeout=2).status_code == 200, 20, "haproxy"
        )
        yield f"http://127.0.0.1:{port}"
    finally:
        balancer.terminate()
        balancer.wait(10)


def replica_set(
    folder: Path, names: tuple[str, ...], upstream: str, store: str, settings: dict[str, str]
) -> list[Replica]:
    """Replicas not started yet: each a `kb init --upstream` mirror with its own data, on the shared store."""
    kb = str(Path(sys.executable).with_name("kb"))
    replicas = []
    for name in names:
        repo = folder / name / "content"
        subprocess.run([kb, "init", str(repo), "--upstream", upstream], check=True, capture_output=True)
        env = {
            "KB_REPO": str(repo),
            "KB_DATA_DIR": str(folder / name / "data"),
            "KB_DATABASE_URL": store,
            "KB_UPSTREAM": upstream,
            "KB_PUBLIC_READ": "true",
            "KB_MANUAL_AUTOBUILD": "false",
            **settings,
        }
        replicas.append(Replica(name, env, folder / f"{name}.log"))
    return replicas
