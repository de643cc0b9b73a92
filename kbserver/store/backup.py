"""Copies of the state store for backups: SQLite through its online backup API, PostgreSQL through pg_dump;
and the store made again from such a copy, into an empty SQLite file or an empty PostgreSQL database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from kbserver.errors import Conflict, InvalidInput, KBError
from kbserver.store.database import connect, migrate, schema_version

FILES = {"sqlite": "state.sqlite", "postgresql": "state.pgdump"}


@dataclass(frozen=True)
class StoreCopy:
    """What a backup holds of the state store, as its manifest records it."""

    kind: str  # sqlite or postgresql
    file: str  # its name in the archive
    schema_version: int
    server: str  # the SQLite library or the PostgreSQL server that held the store
    tool: str  # what wrote the copy

    def as_json(self) -> dict[str, object]:
        """The manifest's entry."""
        return dict(self.__dict__)


def kind_of(url: str) -> str:
    """sqlite or postgresql, from a state store URL."""
    name = sa.engine.make_url(url).get_backend_name()
    if name not in FILES:
        raise InvalidInput(f"backups know SQLite and PostgreSQL stores, not {name}")
    return name


def _sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise InvalidInput("an in-memory SQLite store has nothing to back up or restore into")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL as pg_dump and pg_restore read it, and the environment carrying its password (not argv, which
    every user of the machine can read)."""
    parsed = sa.engine.make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise KBError(
            f"{name} is not installed: install PostgreSQL's client tools (the server's major version)"
        )
    return found


def _run(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise KBError(f"{Path(command[0]).name} failed", done.stderr.strip()[-2000:])
    return done.stdout


def dump(url: str, folder: Path) -> StoreCopy:
    """Write a consistent copy of the store at url into folder while the service may keep writing to it."""
    kind = kind_of(url)
    engine = connect(url)
    try:
        migrate(engine)  # as every kb command does: a store not created yet is backed up as a new one
        version = schema_version(engine)
        with engine.connect() as conn:
            server = str(
                conn.scalar(sa.text("SELECT sqlite_version()" if kind == "sqlite" else "SHOW server_version"))
            )
    finally:
        engine.dispose()
    dest = folder / FILES[kind]
    if kind == "sqlite":
        # The backup API copies pages under SQLite's own locking: a snapshot even while writers carry on.
        with sqlite3.connect(_sqlite_path(url)) as source, sqlite3.connect(dest) as target:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        source.close()
        target.close()
        return StoreCopy(
            kind, dest.name, version, f"SQLite {server}", f"sqlite3 backup API {sqlite3.sqlite_version}"
        )
    address, env = _libpq(url)
    pg_dump = _tool("pg_dump")
    tool = _run([pg_dump, "--version"], env).strip()
    # One snapshot of the whole database (pg_dump runs in one repeatable-read transaction).
    _run(
        [
            pg_dump,
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={dest}",
            f"--dbname={address}",
        ],
        env,
    )
    return StoreCopy(kind, dest.name, version, f"PostgreSQL {server}", tool)


def check_empty(url: str) -> None:
    """Refuse a target that holds a store already: a restore never overwrites one."""
    kind = kind_of(url)
    if kind == "sqlite":
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0:
            raise Conflict(f"{path} already exists: a backup is restored into an empty place only")
        return
    engine = connect(url)
    try:
        with engine.connect() as conn:
            tables = conn.scalar(
                sa.text(
                    "SELECT count(*) FROM information_schema.tables"
                    " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                )
            )
    finally:
        engine.dispose()
    if tables:
        database = sa.engine.make_url(url).database
        raise Conflict(
            f"the database {database} already holds {tables} table(s):"
            " a backup is restored into an empty one only"
        )


def load(url: str, copy: Path, kind: str) -> None:
    """Make the store at url (empty: see check_empty) from a copy that dump wrote."""
    if kind_of(url) != kind:
        raise InvalidInput(
            f"the archive holds a {kind} state store but KB_DATABASE_URL names a {kind_of(url)} one: restore"
            " a SQLite store with an empty KB_DATABASE_URL, a PostgreSQL one into an empty database"
        )
    if kind == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(copy) as source, sqlite3.connect(path) as target:
            source.backup(target)
            problem = target.execute("PRAGMA integrity_check").fetchone()[0]
        source.close()
        target.close()
        if problem != "ok":
            raise InvalidInput(f"the archive's SQLite store is damaged: {problem}")
        return
    address, env = _libpq(url)
    _run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",  # all or nothing: a failed restore leaves the database empty
            f"--dbname={address}",
            str(copy),
        ],
        env,
    )
