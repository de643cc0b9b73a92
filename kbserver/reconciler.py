"""The reconciler: each replica (each process) brings itself to the verified head of main, and keeps trying.

Two loops, so that a long site build never delays search:
- the index loop fetches the upstream (when there is one), works out the published commit (approval/
  publishing.py) and brings the search index to it;
- the site loop builds the site of the published commit whenever the served one is older, and retries a
  failed build with back-off.

They wake when poked (a merge here, a PostgreSQL NOTIFY sent by another replica after its push), every
second to look at main's ref files (a merge by another process on this node), and every KB_FETCH_INTERVAL
seconds to fetch the upstream (pushes made around the service) and to judge the history afresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa

from kbserver.errors import Conflict, KBError
from kbserver.site import Superseded

if TYPE_CHECKING:
    from kbserver.services import Services

log = logging.getLogger(__name__)
POLL = 1.0  # seconds between looks at main's head (a file read, no git process)
CHANNEL = "kb_content"  # the PostgreSQL channel a replica notifies after it pushed
FIRST_RETRY, LAST_RETRY = 5.0, 300.0  # seconds before a failed site build is tried again, doubling


class Loop:
    """A thread that runs `work` when poked, and at least every `poll` seconds; `settle` waits for a pass."""

    def __init__(self, name: str, work: Callable[[bool], float | None], poll: float = POLL) -> None:
        self.name = name
        self._work = work  # work(poked) -> seconds until it wants to run again, or None for the poll
        self._poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._done = threading.Condition()
        self._asked = 0  # pokes so far
        self._passed = 0  # the poke count a finished pass had seen when it started
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (a second call does nothing)."""
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def poke(self) -> None:
        """Run a pass soon, even if nothing seems to have changed."""
        with self._done:
            self._asked += 1
        self._wake.set()

    def settle(self, timeout: float) -> bool:
        """Poke, and wait until a pass that started after now has finished; False on timeout."""
        self.poke()
        with self._done:
            wanted = self._asked
            return self._done.wait_for(lambda: self._passed >= wanted or not self.running, timeout)

    def stop(self) -> None:
        """End the thread after its current pass."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _run(self) -> None:
        delay: float | None = 0.0
        while not self._stop.is_set():
            poked = self._wake.wait(self._poll if delay is None else max(0.0, delay))
            self._wake.clear()
            if self._stop.is_set():
                break
            with self._done:
                seen = self._asked
            try:
                delay = self._work(poked)
            except Exception:  # one failed pass must not end the loop
                log.exception("%s: a pass failed", self.name)
                delay = None
            with self._done:
                self._passed = max(self._passed, seen)
                self._done.notify_all()
        with self._done:
            self._done.notify_all()


class Reconciler:
    """The index loop, the site loop and, on PostgreSQL, the listener that wakes them."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.index = Loop("reconcile-index", self._index_pass)
        self.site = Loop("reconcile-site", self._site_pass)
        self._fetched = 0.0  # time.monotonic() of the last fetch or full judgement
        self._retry_at = 0.0  # a failed site build waits until then
        self._retry_wait = FIRST_RETRY
        self._listener: Listener | None = None

    def start(self) -> None:
        """Start both loops, and the listener on PostgreSQL."""
        self.index.start()
        if self.services.settings.site_autobuild:
            self.site.start()
        if self.services.engine.dialect.name == "postgresql" and self._listener is None:
            self._listener = Listener(self.services.engine.url, self.wake_from_elsewhere)
            self._listener.start()

    def stop(self) -> None:
        """Stop the listener and both loops."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        self.index.stop()
        self.site.stop()

    def poke(self) -> None:
        """Something changed here: catch up now."""
        self.index.poke()

    def wake_from_elsewhere(self) -> None:
        """Another replica pushed: fetch and judge afresh at the next pass."""
        self._fetched = 0.0
        self.index.poke()

    def settle(self, timeout: float = 300) -> None:
        """Wait until the index, then the site, have caught up with what is known now (tests, CLI)."""
        if self.index.running:
            self.index.settle(timeout)
        else:
            self._index_pass(True)
        if self.services.settings.site_autobuild:
            self._retry_at = 0.0
            if self.site.running:
                self.site.settle(timeout)
            else:
                self._site_pass(True)

    def _index_pass(self, poked: bool) -> float | None:
        services = self.services
        due = time.monotonic() - self._fetched >= services.settings.fetch_interval
        if due:
            services.repository.fetch()
            self._fetched = time.monotonic()
        services.catch_up_index(fresh=poked or due)
        if self.site.running:
            self.site.poke()
        return None

    def _site_pass(self, poked: bool) -> float | None:
        services = self.services
        commit = services.published_commit()
        if commit is None or services.site.served_commit() == commit:
            return None
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            return wait
        started = time.monotonic()
        try:
            superseded = lambda: services.published_commit() != commit  # noqa: E731
            services.site.build(services.repository, commit, wait=False, superseded=superseded)
        except Superseded:
            log.info("site: the build of %s stopped: a newer commit is to be published", commit[:12])
            return 0.0
        except Conflict:
            log.info("site: another process is building it")
            return 2.0
        except Exception as exc:
            services.metrics.site_build_failed()
            why = f"{exc.message} {exc.details or ''}" if isinstance(exc, KBError) else repr(exc)
            log.error("site: build of %s failed (retried in %.0f s): %s", commit[:12], self._retry_wait, why)
            self._retry_at = time.monotonic() + self._retry_wait
            self._retry_wait = min(self._retry_wait * 2, LAST_RETRY)
            return self._retry_wait / 2
        finally:
            services.readiness.poke()
        services.metrics.site_built(time.monotonic() - started)
        self._retry_wait = FIRST_RETRY
        return 0.0  # main may have moved during the build: look again at once


def notify(engine: sa.Engine, what: str) -> None:
    """Tell the other replicas that a ref was pushed (PostgreSQL only; elsewhere there is no one to tell)."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.begin() as conn:
            conn.execute(sa.select(sa.func.pg_notify(CHANNEL, what[:200])))
    except sa.exc.SQLAlchemyError as exc:  # the others still see it at their next fetch
        log.warning("publishing: could not notify the other replicas (%s)", exc)


class Listener:
    """LISTENs on the PostgreSQL channel and calls `wake` for each notification; reconnects with back-off."""

    def __init__(self, url: sa.URL, wake: Callable[[], None]) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reconcile-listen", daemon=True)

    def start(self) -> None:
        """Listen in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening (within a second)."""
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        import psycopg

        wait = 1.0
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    wait = 1.0
                    self._wake()  # whatever was sent while this replica was not listening
                    while not self._stop.is_set():
                        for _note in conn.notifies(timeout=1.0):
                            self._wake()
            except psycopg.Error as exc:
                log.warning(
                    "publishing: listening for other replicas failed (%s); again in %.0f s", exc, wait
                )
                self._stop.wait(wait)
                wait = min(wait * 2, 30.0)
