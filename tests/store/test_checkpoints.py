"""The service copies SQLite's write-ahead log back into the database file in the background, so that no
commit does; a commit still does past the backstop, and a PostgreSQL store has nothing to checkpoint."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from kbserver.services import Services
from kbserver.settings import Settings
from kbserver.store import connect
from kbserver.store.checkpoints import BACKSTOP_PAGES, Checkpointer

ROW = b"x" * 3000  # about one 4 KiB page per row
ROWS = 1500  # past SQLite's own default of checkpointing at 1,000 pages


def _fill(engine: sa.Engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS blobs (data BLOB)"))
    for _ in range(rows // 100):  # many commits, as votes are
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO blobs VALUES (:data)"), [{"data": ROW}] * 100)


def _rows_in_main_file(database: Path, tmp: Path) -> int:
    """The rows that the database file itself holds, without its write-ahead log."""
    copy = tmp / "copy.db"
    shutil.copyfile(database, copy)
    with sqlite3.connect(copy) as reader:
        try:
            return int(reader.execute("SELECT count(*) FROM blobs").fetchone()[0])
        except sqlite3.OperationalError:  # the table itself is still only in the log
            return 0


def test_commits_leave_the_log_to_the_checkpointer_which_copies_it_back(tmp_path: Path) -> None:
    database = tmp_path / "state.db"
    engine = connect(f"sqlite:///{database}")
    _fill(engine, ROWS)
    # No commit checkpointed: with SQLite's default, the one past 1,000 pages would have.
    assert _rows_in_main_file(database, tmp_path) == 0
    checkpointer = Checkpointer.for_store(engine, interval=0.05)
    assert checkpointer is not None
    try:
        deadline = time.monotonic() + 10
        while _rows_in_main_file(database, tmp_path) < ROWS:
            assert time.monotonic() < deadline, "the log was not copied back within 10 s"
            time.sleep(0.05)
        busy, logged, copied = checkpointer.checkpoint()
        assert busy == 0 and logged == copied
    finally:
        checkpointer.stop()
    assert not checkpointer._thread.is_alive()
    engine.dispose()


def test_a_commit_checkpoints_once_the_log_passes_the_backstop(tmp_path: Path) -> None:
    database = tmp_path / "state.db"
    engine = connect(f"sqlite:///{database}")
    with engine.connect() as conn:
        pages = conn.connection.driver_connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert pages == BACKSTOP_PAGES
    engine.dispose()


def test_only_a_sqlite_file_store_gets_a_checkpointer(database_url: str) -> None:
    engine = connect(database_url)
    checkpointer = Checkpointer.for_store(engine)
    try:
        assert (checkpointer is not None) == (engine.dialect.name == "sqlite")
    finally:
        if checkpointer is not None:
            checkpointer.stop()
        engine.dispose()
    memory = connect("sqlite://")
    assert Checkpointer.for_store(memory) is None
    memory.dispose()


def test_a_running_service_checkpoints_until_it_closes(settings: Settings) -> None:
    services = Services.open(settings.model_copy(update={"manual_autobuild": False, "site_autobuild": False}))
    try:
        assert services.checkpoints is None  # a `kb` command that opens the store leaves it to SQLite
        services.start_background()
        checkpointer = services.checkpoints
        assert checkpointer is not None and checkpointer._thread.is_alive()
    finally:
        services.close()
    assert not checkpointer._thread.is_alive()
