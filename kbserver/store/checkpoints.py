"""SQLite's write-ahead log copied back into the database file by a thread of the service, not by a request.

By default SQLite checkpoints inside whichever commit takes the log past 1,000 pages: that commit copies the
pages and syncs the file, and on a busy desk every vote queued behind it waits too. The feedback bench saw it
as the gap between its median and its 95th percentile. Here the service checkpoints once a second in the
background (PASSIVE: it never waits for, or blocks, a reader or a writer; SQLite lets go of the GIL while it
copies), and a commit checkpoints only when the log has outgrown BACKSTOP_PAGES, should the thread fall
behind or a `kb` command write without a service running.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import sqlalchemy as sa

log = logging.getLogger(__name__)

BACKSTOP_PAGES = 10_000  # about 40 MB of log at SQLite's 4 KiB pages
INTERVAL_SECONDS = 1.0


class Checkpointer:
    """A daemon thread that checkpoints a SQLite file store every `interval` seconds until stopped."""

    def __init__(self, engine: sa.Engine, interval: float = INTERVAL_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    @classmethod
    def for_store(cls, engine: sa.Engine, interval: float = INTERVAL_SECONDS) -> Checkpointer | None:
        """A started checkpointer for a SQLite file store; None for PostgreSQL and in-memory SQLite."""
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        checkpointer = cls(engine, interval)
        checkpointer._thread.start()
        return checkpointer

    def checkpoint(self) -> tuple[int, int, int]:
        """One passive checkpoint: (busy, pages in the log, pages copied back), as SQLite reports them."""
        with self.engine.connect() as conn:
            # Through the driver: a pragma through SQLAlchemy would begin a transaction around it.
            driver: Any = conn.connection.driver_connection
            row = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except Exception as exc:  # a full disk, a locked file: the next round tries again
                log.warning("SQLite checkpoint failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
