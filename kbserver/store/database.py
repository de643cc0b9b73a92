"""Engine creation and schema migrations that keep existing data across upgrades."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from kbserver.filelock import FileLock
from kbserver.store import schema
from kbserver.store.checkpoints import BACKSTOP_PAGES

log = logging.getLogger(__name__)

Migration = tuple[int, str, Callable[[sa.Connection], None]]
BUSY_TIMEOUT_MS = 30_000  # how long a SQLite connection waits for another writer


# The feedback table as migration 4 created it; migration 5 changed it, so its original shape is spelled out.
_FEEDBACK_V4 = sa.Table(
    "feedback",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("doc_id", sa.String(32), nullable=False, index=True),
    sa.Column("commit", sa.String(40), nullable=False),
    sa.Column("ticket", sa.String(64), nullable=False, default="", index=True),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("user_id", "doc_id", "ticket", name="uq_feedback_user_doc_ticket"),
)


# The search log as migration 2 created it; migration 6 added the opened and linked columns.
_V2 = sa.MetaData()
schema.users.to_metadata(_V2)  # so that the foreign key resolves
_SEARCH_LOG_V2 = sa.Table(
    "search_log",
    _V2,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("query", sa.String(1000), nullable=False),
    sa.Column("filters", sa.String(1000), nullable=False, default=""),
    sa.Column("results", sa.Integer, nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


def _search_outcomes(conn: sa.Connection) -> None:
    conn.execute(sa.text("ALTER TABLE search_log ADD COLUMN opened_doc_id VARCHAR(32)"))
    conn.execute(sa.text("ALTER TABLE search_log ADD COLUMN linked BOOLEAN DEFAULT FALSE NOT NULL"))


def _feedback_weeks(conn: sa.Connection) -> None:
    # Reports group by week; a stored week (the Monday) avoids computing it for every row on every report.
    conn.execute(sa.text("ALTER TABLE feedback ADD COLUMN week VARCHAR(10)"))
    if conn.dialect.name == "postgresql":
        monday = "to_char(date_trunc('week', created_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
    else:
        monday = "date(created_at, 'weekday 0', '-6 days')"
    conn.execute(sa.text(f"UPDATE feedback SET week = {monday}"))
    # Reports scan whole ranges: SQLite reads the covering indexes in group order faster than it sorts rows
    # found through a created_at index, so that index goes.
    conn.execute(sa.text("DROP INDEX ix_feedback_created_at"))
    for index in schema.feedback.indexes:
        if index.name in ("ix_feedback_week_ticket", "ix_feedback_doc_commit"):
            index.create(conn)  # SQLAlchemy quotes `commit`, a reserved word


def _create(*tables: sa.Table) -> Callable[[sa.Connection], None]:
    # A table created here keeps the shape it has in schema.py; a later change to it is a new
    # migration (ALTER ...), and this step must then spell out the table's original columns.
    def step(conn: sa.Connection) -> None:
        for table in tables:
            table.create(conn)

    return step


MIGRATIONS: list[Migration] = [
    (1, "users, tokens and sessions", _create(schema.users, schema.api_tokens, schema.sessions)),
    (2, "search log", _create(_SEARCH_LOG_V2)),
    (
        3,
        "change requests, reviews, audit log",
        _create(schema.change_requests, schema.reviews, schema.change_events),
    ),
    (4, "feedback, flags, script deviations", _create(_FEEDBACK_V4, schema.flags, schema.deviations)),
    (5, "feedback: stored week, report indexes", _feedback_weeks),
    (6, "search log: result opened, linked to a ticket", _search_outcomes),
    (7, "login throttling", _create(schema.login_throttle)),
    (
        8,
        "ServiceNow: outbox, incidents, attached knowledge, state",
        _create(
            schema.servicenow_outbox,
            schema.servicenow_incidents,
            schema.servicenow_attachments,
            schema.servicenow_state,
        ),
    ),
    (
        9,
        "read confirmations: document versions, confirmations",
        _create(schema.document_versions, schema.read_confirmations, schema.version_scan),
    ),
    (11, "publishing: baselines and accepted commits", _create(schema.publication_events)),
]


class StoreBusy(Exception):
    """A write that was asked not to wait found the SQLite store locked; nothing was written."""


class WriteLock:
    """The lock that SQLite writers of the small frequent writes (votes, the search log) queue on.

    It is a re-entrant thread lock for this process and a lock file for the others. SQLite's own busy
    wait sleeps up to 100 ms between tries, which made the slowest writes many times slower than the
    median; a process blocked on the lock file is woken as soon as it is released, and the kernel drops
    the lock of a process that dies."""

    def __init__(self, database: str) -> None:
        self._thread_lock = threading.RLock()
        self._file = FileLock(database + ".writelock")
        self._depth = 0  # changed only by the thread holding _thread_lock

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock; without blocking, return False at once if someone holds it."""
        if not self._thread_lock.acquire(blocking):
            return False
        if self._depth == 0 and not self._file.acquire(blocking):
            self._thread_lock.release()
            return False
        self._depth += 1
        return True

    def release(self) -> None:
        """Let the next writer in."""
        self._depth -= 1
        if self._depth == 0:
            self._file.release()
        self._thread_lock.release()


_LOCKS: dict[str, WriteLock] = {}  # by the file's real path, and by each name it was asked for
_LOCKS_GUARD = threading.Lock()
_NO_WAIT = threading.local()
_WAIT_OBSERVERS: weakref.WeakKeyDictionary[sa.Engine, Callable[[float], None]] = weakref.WeakKeyDictionary()


def observe_write_waits(engine: sa.Engine, observer: Callable[[float], None]) -> None:
    """Call observer with the seconds each `writing` block on engine waited before its transaction began
    (for the SQLite write lock, or for a PostgreSQL connection)."""
    _WAIT_OBSERVERS[engine] = observer


def write_lock(engine: sa.Engine) -> WriteLock | None:
    """The write lock of a SQLite file store; None for PostgreSQL and in-memory SQLite."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    found = _LOCKS.get(database)  # every vote asks twice: no path resolving on the way
    if found is None:
        path = os.path.realpath(database)  # one lock per file, however the URL names it
        with _LOCKS_GUARD:
            if path not in _LOCKS:
                _LOCKS[path] = WriteLock(path)
            found = _LOCKS[database] = _LOCKS[path]
    return found


@contextmanager
def no_wait() -> Iterator[None]:
    """Within this block, `writing` raises StoreBusy instead of waiting for a SQLite lock that another
    writer holds (one that does not use WriteLock, e.g. a `kb` command in another process)."""
    _NO_WAIT.active = True
    try:
        yield
    finally:
        _NO_WAIT.active = False


@contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A write transaction for the small frequent writes, queued on the store's WriteLock (on SQLite)."""
    observer = _WAIT_OBSERVERS.get(engine)
    started = time.perf_counter()
    lock = write_lock(engine)
    if lock is None:
        with engine.begin() as conn:
            if observer is not None:
                observer(time.perf_counter() - started)
            yield conn
        return
    hurry = getattr(_NO_WAIT, "active", False)
    lock.acquire()
    try:
        with engine.connect() as conn:
            # Through the driver: a pragma through SQLAlchemy would begin a transaction.
            driver: Any = conn.connection.driver_connection
            if hurry:
                driver.execute("PRAGMA busy_timeout = 0")
            try:
                with conn.begin():
                    if observer is not None:
                        observer(time.perf_counter() - started)
                    yield conn
            except sa.exc.OperationalError as error:
                code = getattr(error.orig, "sqlite_errorcode", 0)
                if hurry and code & 0xFF == sqlite3.SQLITE_BUSY:  # also its extended codes
                    raise StoreBusy(str(error.orig)) from error
                raise
            finally:
                if hurry:
                    driver.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    finally:
        lock.release()


def connect(url: str) -> sa.Engine:
    """An engine for the state store URL; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")  # the service checkpoints
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def migrate(engine: sa.Engine, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the migrations not applied yet, in order, each in its own transaction; returns them."""
    applied: list[int] = []
    started = time.perf_counter()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(4242001)"))  # one migrator at a time
        schema.schema_migrations.create(conn, checkfirst=True)
        done = set(conn.scalars(sa.select(schema.schema_migrations.c.version)))
        for version, name, step in migrations if migrations is not None else MIGRATIONS:
            if version in done:
                continue
            log.info("state store: applying migration %d (%s)", version, name)
            step(conn)
            conn.execute(
                schema.schema_migrations.insert().values(
                    version=version, name=name, applied_at=datetime.now(UTC)
                )
            )
            applied.append(version)
    if applied:
        seconds = time.perf_counter() - started
        log.info(
            "state store: %d migration(s) applied, now at version %d (%.2f s)",
            len(applied),
            applied[-1],
            seconds,
            extra={"migrations": applied, "seconds": round(seconds, 3)},
        )
    return applied


def schema_version(engine: sa.Engine) -> int:
    """The newest migration applied to the store."""
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.max(schema.schema_migrations.c.version))) or 0)
