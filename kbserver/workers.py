"""`kb serve --workers N` on Linux: N uvicorn processes, each listening on a socket of its own with
SO_REUSEPORT, so that the kernel spreads new connections across them by their addresses.

uvicorn's own `--workers` shares one listening socket, and whichever worker wakes first accepts: under a few
long keep-alive connections one worker ends up with all of them while the others idle.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from kbserver.errors import Conflict, KBError

log = logging.getLogger(__name__)
APP = "kbserver.api.app:app_from_environment"
STOP_SECONDS = 30  # how long a worker may take to finish its requests after SIGTERM
QUICK_EXIT_SECONDS = 10  # a worker that dies sooner than this after its start is failing, not crashing
PR_SET_PDEATHSIG = 1
# uvicorn's choices, named rather than left to what happens to be installed. httptools parses a request with
# about 10% less CPU per vote than h11 (the feedback bench: 1.24 against 1.38 ms). The event loop stays
# asyncio's: uvloop, which "auto" would take if present, gave the same CPU and a longer tail (p95 25 against
# 21 ms at 16 clients).
HTTP, LOOP = "httptools", "asyncio"


def reuse_port_spreads() -> bool:
    """Whether SO_REUSEPORT balances connections across sockets here (Linux; elsewhere the last one wins)."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def _address(host: str, port: int) -> tuple[socket.AddressFamily, Any]:
    family, _type, _proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return family, address


def check_port_free(host: str, port: int) -> None:
    """Refuse a port that another process listens on, even another `kb serve` with SO_REUSEPORT (whose
    workers would otherwise silently share the traffic with ours)."""
    family, address = _address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            probe.bind(address)
        except OSError as exc:
            raise Conflict(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _listen(host: str, port: int) -> socket.socket:
    family, address = _address(host, port)
    # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on connections of a socket that says it is TCP.
    # Without it Nagle's algorithm held each answer's last segment for the client's delayed ACK (+40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


def _worker(host: str, port: int, log_level: str, parent: int) -> None:  # pragma: no cover - a child
    import uvicorn

    # A worker ends with `kb serve` even if that is killed with SIGKILL and cannot stop it.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        return
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, http=HTTP, loop=LOOP, log_level=log_level, log_config=None
    )
    uvicorn.Server(config).run(sockets=[_listen(host, port)])


class _Pool:
    def __init__(self, count: int, host: str, port: int, log_level: str) -> None:
        self.args = (host, port, log_level, os.getpid())
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[BaseProcess] = [self._start(n) for n in range(count)]
        self.started = [time.monotonic()] * count

    def _start(self, number: int) -> BaseProcess:
        process = self.context.Process(target=_worker, args=self.args, name=f"kb-worker-{number + 1}")
        process.start()
        return process

    def replace_dead(self) -> None:
        """Start a worker in place of each one that exited; raise when one fails right at its start."""
        for number, process in enumerate(self.processes):
            if process.is_alive():
                continue
            if time.monotonic() - self.started[number] < QUICK_EXIT_SECONDS:
                raise KBError(f"worker {process.pid} exited with code {process.exitcode} while starting")
            log.warning("worker %s exited with code %s; starting another", process.pid, process.exitcode)
            self.processes[number] = self._start(number)
            self.started[number] = time.monotonic()

    def stop(self) -> None:
        """SIGTERM to every worker (each finishes its requests and shuts down), SIGKILL to any left after
        STOP_SECONDS, and wait for all: no orphan stays behind."""
        for process in self.processes:
            if process.is_alive() and process.pid:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("worker %s did not stop in %d s; killing it", process.pid, STOP_SECONDS)
                process.kill()
                process.join()


def run_workers(count: int, host: str, port: int, log_level: str) -> int:
    """Serve with count worker processes, each on its own SO_REUSEPORT socket, until SIGINT or SIGTERM."""
    check_port_free(host, port)
    stopping = False

    def stop(_signal: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    pool = _Pool(count, host, port, log_level)
    try:
        while not stopping:
            wait([p.sentinel for p in pool.processes], timeout=0.5)
            if not stopping:
                pool.replace_dead()
    finally:
        pool.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: list[str]) -> int:
    """`python -m kbserver.workers COUNT HOST PORT`: the supervisor that `kb serve --workers N` replaces
    itself with once the store is migrated, so that the parent of the workers holds only what supervising
    needs (tens of MB less than a process that imported the whole service)."""
    from kbserver.logs import configure_logging

    count, host, port = int(argv[0]), argv[1], int(argv[2])
    level = os.environ.get("KB_LOG_LEVEL", "info")
    configure_logging(level, os.environ.get("KB_LOG_FORMAT", "text"))
    return run_workers(count, host, port, level)


if __name__ == "__main__":  # pragma: no cover - run by kb serve in place of itself
    raise SystemExit(main(sys.argv[1:]))
