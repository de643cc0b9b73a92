"""The ServiceNow background work (the outbox's delivery and the periodic incident pull) in a process of its
own beside each `kb serve` process.

As a thread of the service, each link delivered took 1.5 to 3 ms of the GIL from the requests operators wait
on, and the GIL's hand-overs stretched that: at 16 clients the p95 of a vote went from 16.0 to 19.4 ms while
delivery ran (5 links a second), and a pull of 100,000 incidents would have held the service for seconds. In a
process of its own it runs on another core.

The service writes the settings to the child's standard input as one JSON line, then a byte when a new link
waits (so that delivery starts at once rather than at the next poll). The end of its standard input is the
child's signal to stop: the service closes it when stopping, and the kernel does when the service dies, so no
child outlives its service. A child that dies is started again, after a pause that doubles while it keeps
dying; what it had claimed waits out its lease in the outbox and is delivered by the next one.

One child per data directory works; the others (`kb serve --workers N` starts one per worker) wait, before
loading anything, for the lock file `servicenow.lock` there, and one of them takes over when the working one
ends. So a host pulls the incidents once per interval, not once per worker, delivers at KB_SERVICENOW_RATE in
all, and holds one working process (about 65 MB) rather than one per worker; a waiting one holds about 10 MB.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # (a waiting child loads nothing it does not need)
    from kbserver.settings import Settings

log = logging.getLogger(__name__)
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 60.0  # seconds before a child that died is started again
SETTLED = 60.0  # a child that ran this long before dying starts again after the first pause
WAKE_PAUSE = 0.05  # seconds: the child reads the wake-ups at most this often


def settings_json(settings: Settings) -> str:
    """The settings as one JSON line, secrets included (for the child's standard input, never a file)."""
    from pydantic import SecretStr

    values: dict[str, Any] = settings.model_dump(mode="json")
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            values[name] = value.get_secret_value()
    return json.dumps(values)


class DeliveryProcess:
    """Starts the child, keeps it running, wakes it, and stops it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._child: subprocess.Popen[bytes] | None = None
        self._stdin: IO[bytes] | None = None
        self._stopping = threading.Event()
        self._guard = threading.Lock()
        self._supervisor: threading.Thread | None = None
        self.starts = 0  # how many children were started (the first, then one per restart)
        self._woken = -WAKE_PAUSE  # when the last wake-up was written

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def start(self) -> None:
        """Start the child and the thread that starts it again should it die."""
        if self._supervisor is not None and self._supervisor.is_alive():
            return
        self._stopping.clear()
        self._supervisor = threading.Thread(target=self._supervise, name="servicenow-process", daemon=True)
        self._supervisor.start()

    def wake(self) -> None:
        """A new link waits: tell the child (never blocks; a full pipe already holds a wake-up)."""
        now = time.monotonic()
        if now - self._woken < WAKE_PAUSE:
            return  # the child wakes its worker again WAKE_PAUSE after reading the last wake-up (see main)
        self._woken = now
        with self._guard:  # (stop() closes the pipe: its descriptor must not be written to after)
            if self._stdin is None:
                return
            # A full pipe holds a wake-up already; a child that is gone looks at the outbox when started.
            with contextlib.suppress(OSError):
                os.write(self._stdin.fileno(), b"\n")

    def stop(self, timeout: float = 30.0) -> None:
        """Let the child finish the link it is delivering and stop; kill it after timeout seconds."""
        self._stopping.set()
        with self._guard:
            child, stdin, self._stdin = self._child, self._stdin, None
        if stdin is not None:
            with contextlib.suppress(OSError):
                stdin.close()
        if child is not None:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("ServiceNow: the delivery process did not stop in %s s; killed", timeout)
                child.kill()
                child.wait()
        if self._supervisor is not None:
            self._supervisor.join(timeout)

    def _supervise(self) -> None:
        pause = FIRST_PAUSE
        while not self._stopping.is_set():
            started = time.monotonic()
            child = self._spawn()
            if child is None:
                return
            code = child.wait()
            with self._guard:
                if self._stdin is child.stdin:
                    self._stdin = None
                if child.stdin is not None:
                    with contextlib.suppress(OSError):
                        child.stdin.close()
            if self._stopping.is_set():
                return
            pause = FIRST_PAUSE if time.monotonic() - started > SETTLED else pause
            log.warning("ServiceNow: the delivery process ended (exit %s); restart in %.0f s", code, pause)
            self._stopping.wait(pause)
            pause = min(LONGEST_PAUSE, pause * 2)

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        with self._guard:
            if self._stopping.is_set():
                return None
            lock = self.settings.data_dir / "servicenow.lock"
            child = subprocess.Popen(
                [sys.executable, "-m", "kbserver.servicenow.process", str(lock)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl-C goes to the service, which then stops the child
            )
            assert child.stdin is not None
            child.stdin.write(settings_json(self.settings).encode() + b"\n")
            child.stdin.flush()
            os.set_blocking(child.stdin.fileno(), False)  # wake() never waits for the child
            self._child, self._stdin = child, child.stdin
            self.starts += 1
        return child


def _my_turn(lock_file: Path, stdin: int) -> int | None:
    """Wait until this process holds the lock file (returns its descriptor, to keep open), or its service is
    gone (None)."""
    lock = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return lock
        except BlockingIOError:
            pass
        ready, _, _ = select.select([stdin], [], [], 1.0)
        if ready and not os.read(stdin, 65536):  # wake-ups meanwhile are for the working one's poll
            os.close(lock)
            return None


def main() -> None:
    """The child: when its turn comes, deliver and pull until standard input ends."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop as when the service is gone
    stdin = sys.stdin.buffer
    line = stdin.readline()
    held = _my_turn(Path(sys.argv[1]), stdin.fileno())  # kept open, and so locked, while this process lives
    if held is None:
        return

    from kbserver.logs import configure_logging
    from kbserver.search import SearchIndex, SearchService
    from kbserver.servicenow.integration import ServiceNow
    from kbserver.settings import Settings
    from kbserver.store import connect

    settings = Settings(**json.loads(line))
    configure_logging(settings.log_level, settings.log_format)
    engine = connect(settings.resolved_database_url)
    search = SearchService(SearchIndex(settings.data_dir / "index"), cache_size=64)
    integration = ServiceNow.open(settings, engine, search.lookup)
    if integration is None:
        return
    integration.run_here()
    try:
        while os.read(stdin.fileno(), 65536):  # wake-ups, until the end of the input
            integration.worker.wake()
            # A busy desk's wake-ups are taken together: the service writes one at most every WAKE_PAUSE, and
            # this wakes the worker again after that pause, for the links whose wake-ups it left out. One per
            # vote cost the service 19 µs of a vote's 950 under load, and woke this process a thousand times
            # a second on the core the service's clients need too.
            time.sleep(WAKE_PAUSE)
            integration.worker.wake()
    finally:
        integration.close()
        engine.dispose()


if __name__ == "__main__":
    main()
