"""The outbox in the state store: links of documents to tickets, waiting to be written to ServiceNow."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from kbserver.errors import Conflict, NotFound
from kbserver.store.database import writing
from kbserver.store.schema import feedback, servicenow_outbox, servicenow_state

MAX_DELAY = 3600.0  # seconds: the back-off stops doubling at an hour
INTAKE_KEY = "intake:feedback"  # servicenow_state: the last feedback id taken into the outbox (SQLite)
INTAKE_BATCH = 200  # votes taken in per write when intake ends


class EntryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True)
class Entry:
    """One link to deliver, and how far earlier tries got."""

    id: int
    key: str
    ticket: str
    doc_id: str
    commit: str
    page: str
    attempts: int
    task_sys_id: str | None
    note_tried: bool
    noted: bool
    attached: bool


def link_key(ticket: str, doc_id: str, commit: str) -> str:
    """The idempotency key of a link: the same document version on the same ticket is written once. (The
    intake spells it in SQL too: _SQLITE_TAKE_IN.)"""
    return f"{ticket}/{doc_id}/{commit}"


@cache
def _postgres_insert() -> sa.Executable:
    insert = postgresql.insert(servicenow_outbox)
    columns = ("key", "ticket", "doc_id", "commit", "page", "next_attempt_at", "created_at", "updated_at")
    statement: sa.Executable = insert.values(
        {c: sa.bindparam(f"o_{c}") for c in columns}
        | {"state": EntryState.PENDING.value, "attempts": 0}
        | dict.fromkeys(("note_tried", "noted", "attached"), False)
    ).on_conflict_do_nothing(index_elements=["key"])
    return statement


# The link's insert for SQLite, straight through the driver: 10 µs in the vote's transaction, where
# SQLAlchemy's statement took 50 (of a vote's 110).
_SQLITE_INTO = (
    'INSERT INTO servicenow_outbox (key, ticket, doc_id, "commit", page, state, attempts, next_attempt_at, '
    "created_at, updated_at, note_tried, noted, attached) "
)
_SQLITE_INSERT = _SQLITE_INTO + (
    "VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, 0, 0, 0) ON CONFLICT (key) DO NOTHING"
)


def _sqlite_moment(now: datetime) -> str:
    """A time as SQLAlchemy writes it on SQLite (UTC, without the zone, with microseconds)."""
    return now.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def enqueue(conn: sa.Connection, ticket: str, doc_id: str, commit: str, page: str) -> None:
    """Add a link in the caller's transaction (the feedback's own), unless the same link is there already."""
    now = datetime.now(UTC)
    key = link_key(ticket, doc_id, commit)
    if conn.dialect.name == "sqlite":
        moment = _sqlite_moment(now)
        driver: Any = conn.connection.driver_connection
        driver.execute(_SQLITE_INSERT, (key, ticket, doc_id, commit, page, moment, moment, moment))
        return
    values: dict[str, Any] = {"key": key, "ticket": ticket, "doc_id": doc_id, "commit": commit, "page": page}
    values |= {"next_attempt_at": now, "created_at": now, "updated_at": now}
    conn.execute(_postgres_insert(), {f"o_{k}": v for k, v in values.items()})


# How a vote's link reaches the outbox depends on the store. On PostgreSQL the vote's own transaction adds
# it (`enqueue`). On SQLite a new vote writes only its feedback row, and the delivery takes the rows given
# since it last looked into the outbox when it claims work (`Outbox.claim`), as many as it claims: the outbox
# row and its two indexes made a vote cost 5% more CPU time under load, and its p95 at 16 clients rose by
# 1.0 ms. (Taking the new votes in as they came instead, a write every 50 ms by the delivery process, was
# worse: +2.2 ms.) A vote changed before it is taken in is linked once, with the version it names last.
# An updated vote is still linked in its own transaction: it may name another version, and its row's id was
# taken in already. Taking in by id is safe on SQLite only: its writers take turns, so a row is visible
# before any row with a higher id is written. PostgreSQL's ids come from a sequence, and a transaction may
# commit after another that drew a higher id, which the mark would pass by.
#
# Intake runs while the integration is on: the service's start begins it from the last vote there is (unless
# it has begun already), and a start with the integration off ends it, after taking in the votes given before.
# So, as on PostgreSQL, a vote given while the integration is off is never linked, even once it is on again (a
# desk that turns it off for a month does not want that month's links written to old tickets later).

_MARK = sa.select(servicenow_state.c.value).where(servicenow_state.c.key == INTAKE_KEY)


def intake_on(engine: sa.Engine) -> bool:
    """Whether new votes reach the outbox by intake (SQLite), rather than in their own transaction."""
    return engine.dialect.name == "sqlite"


def begin_intake(engine: sa.Engine) -> None:
    """Take in the votes given from now on, unless intake has begun already (the service starts)."""
    if intake_on(engine):
        with writing(engine) as conn:
            if conn.scalar(_MARK) is None:
                last = conn.scalar(sa.select(sa.func.max(feedback.c.id))) or 0
                conn.execute(servicenow_state.insert().values(key=INTAKE_KEY, value=str(last)))


def end_intake(engine: sa.Engine) -> None:
    """Take in what is left, and stop (the service starts with the integration off)."""
    with engine.connect() as conn:
        if conn.scalar(_MARK) is None:
            return
    while True:
        with writing(engine) as conn:
            if not _take_in(conn, INTAKE_BATCH, datetime.now(UTC)):
                conn.execute(servicenow_state.delete().where(servicenow_state.c.key == INTAKE_KEY))
                return


def _take_in(conn: sa.Connection, limit: int, now: datetime) -> int:
    """In the caller's write transaction: up to limit votes on tickets given since the mark become outbox
    entries, due at now (one already there for the same link is kept), and the mark moves past them. Returns
    how many votes were read (0 also when intake is not running)."""
    seen = conn.scalar(_MARK)
    if seen is None:
        return 0
    driver: Any = conn.connection.driver_connection
    ids = [row[0] for row in driver.execute(_SQLITE_VOTES, (int(seen), limit))]
    if ids:
        moment = _sqlite_moment(now)
        driver.execute(_SQLITE_TAKE_IN, (moment, moment, moment, int(seen), ids[-1]))
        mark = servicenow_state.update().where(servicenow_state.c.key == INTAKE_KEY)
        conn.execute(mark.values(value=str(ids[-1])))
    return len(ids)


def waiting(engine: sa.Engine) -> int:
    """How many votes on tickets wait to be taken in (they count as pending links)."""
    with engine.connect() as conn:
        seen = conn.scalar(_MARK) if intake_on(engine) else None
        if seen is None:
            return 0
        f = feedback.c
        return int(conn.scalar(sa.select(sa.func.count()).where((f.id > int(seen)) & (f.ticket != ""))) or 0)


_SQLITE_VOTES = "SELECT id FROM feedback WHERE id > ? AND ticket != '' ORDER BY id LIMIT ?"
# The page is left empty: the delivery names the document's page as the index has it then.
_SQLITE_TAKE_IN = _SQLITE_INTO + (
    "SELECT ticket || '/' || doc_id || '/' || \"commit\", ticket, doc_id, \"commit\", '', 'pending', 0, "
    "?, ?, ?, 0, 0, 0 FROM feedback WHERE id > ? AND id <= ? AND ticket != '' ORDER BY id "
    "ON CONFLICT (key) DO NOTHING"
)


class Outbox:
    """Due entries claimed with a lease (several workers may run), progress, retries and dead letters."""

    def __init__(self, engine: sa.Engine, max_attempts: int, first_delay: float) -> None:
        self.engine = engine
        self.max_attempts = max_attempts
        self.first_delay = first_delay

    def claim(self, limit: int, lease_seconds: float) -> list[Entry]:
        """Up to limit due entries, each leased to this worker so that no other takes it meanwhile."""
        o = servicenow_outbox.c
        now = datetime.now(UTC)
        free = o.lease_until.is_(None) | (o.lease_until < now)
        due = (o.state == EntryState.PENDING.value) & (o.next_attempt_at <= now) & free
        first = sa.select(o.id).where(due).order_by(o.next_attempt_at, o.id).limit(limit)
        # One statement, so the store's write lock is held for one step: a statement per entry let the
        # requests' event loop take the GIL between them, and votes waited behind the lock for 100 ms and
        # more. `due` is checked again on each row, so one that another worker leased meanwhile is left.
        # An entry still leased (its lease ran out) was being delivered by a worker that died or stalled: it
        # may have written the work note, so the note is looked for before it is written again. This is what
        # spares the delivery a write of its own before each work note.
        lease = (
            servicenow_outbox.update()
            .where(o.id.in_(first.scalar_subquery()) & due)
            .values(
                lease_until=now + timedelta(seconds=lease_seconds),
                note_tried=o.note_tried | o.lease_until.is_not(None),
            )
            .returning(*servicenow_outbox.c)
        )
        with writing(self.engine) as conn:
            if intake_on(self.engine):
                _take_in(conn, limit, now)  # votes given since the last claim (see above), as many as claimed
            rows = conn.execute(lease).all()
        return sorted((_entry(r) for r in rows), key=lambda e: e.id)

    def progress(self, entry_id: int, **steps: Any) -> None:
        """Record a step done (task_sys_id, note_tried, noted, attached), so a retry does not repeat it."""
        self._update(entry_id, **steps)

    def delivered(self, entry_id: int, **steps: Any) -> None:
        """The link is in ServiceNow (with the steps done since the last `progress`, in the same write)."""
        now = datetime.now(UTC)
        self._update(
            entry_id,
            **steps,
            state=EntryState.DELIVERED.value,
            delivered_at=now,
            lease_until=None,
            last_error=None,
        )

    def failed(self, entry_id: int, error: str, retry_after: float | None = None, **steps: Any) -> EntryState:
        """Count a failed try, with the steps it did; the entry waits (back-off, or the instance's
        Retry-After) or goes dead."""
        o = servicenow_outbox.c
        with writing(self.engine) as conn:
            attempts = int(conn.scalar(sa.select(o.attempts).where(o.id == entry_id)) or 0) + 1
            state = EntryState.DEAD if attempts >= self.max_attempts else EntryState.PENDING
            delay = min(MAX_DELAY, self.first_delay * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
            if retry_after is not None:
                delay = max(delay, retry_after)
            conn.execute(
                servicenow_outbox.update()
                .where(o.id == entry_id)
                .values(
                    **steps,
                    attempts=attempts,
                    state=state.value,
                    last_error=error[:2000],
                    lease_until=None,
                    next_attempt_at=datetime.now(UTC) + timedelta(seconds=delay),
                    updated_at=datetime.now(UTC),
                )
            )
        return state

    def release(self, entry_id: int) -> None:
        """Give an entry back without counting a try (the worker is stopping)."""
        self._update(entry_id, lease_until=None)

    def postpone(self, seconds: float) -> None:
        """Hold every due pending entry back (the instance asked to slow down), without counting a try."""
        o = servicenow_outbox.c
        later = datetime.now(UTC) + timedelta(seconds=seconds)
        with writing(self.engine) as conn:
            conn.execute(
                servicenow_outbox.update()
                .where((o.state == EntryState.PENDING.value) & (o.next_attempt_at < later))
                .values(next_attempt_at=later)
            )

    def retry(self, entry_id: int) -> dict[str, Any]:
        """Send a dead entry again, with a fresh count of tries."""
        entry = self.get(entry_id)
        if entry["state"] != EntryState.DEAD.value:
            raise Conflict(f"outbox entry {entry_id} is {entry['state']}; only dead entries are retried")
        now = datetime.now(UTC)
        self._update(entry_id, state=EntryState.PENDING.value, attempts=0, next_attempt_at=now)
        return self.get(entry_id)

    def get(self, entry_id: int) -> dict[str, Any]:
        """One entry as JSON."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(servicenow_outbox).where(servicenow_outbox.c.id == entry_id)).first()
        if row is None:
            raise NotFound(f"no outbox entry {entry_id}")
        return _json(row)

    def entries(self, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Entries, newest first, of one state or all."""
        o = servicenow_outbox.c
        query = sa.select(servicenow_outbox).order_by(o.id.desc()).limit(limit)
        if state:
            query = query.where(o.state == state)
        with self.engine.connect() as conn:
            return [_json(r) for r in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        """How many entries are in each state."""
        o = servicenow_outbox.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(o.state, sa.func.count()).group_by(o.state)).all()
        found: dict[str, int] = {str(state): int(count) for state, count in rows}
        found[EntryState.PENDING.value] = found.get(EntryState.PENDING.value, 0) + waiting(self.engine)
        return {s.value: found.get(s.value, 0) for s in EntryState}

    def next_due(self) -> datetime | None:
        """When the earliest pending entry is due."""
        o = servicenow_outbox.c
        with self.engine.connect() as conn:
            found: datetime | None = conn.scalar(
                sa.select(sa.func.min(o.next_attempt_at)).where(o.state == EntryState.PENDING.value)
            )
        return found.replace(tzinfo=UTC) if found is not None and found.tzinfo is None else found

    def _update(self, entry_id: int, **values: Any) -> None:
        with writing(self.engine) as conn:
            conn.execute(
                servicenow_outbox.update()
                .where(servicenow_outbox.c.id == entry_id)
                .values(**values, updated_at=datetime.now(UTC))
            )


def _entry(row: Any) -> Entry:
    return Entry(
        row.id,
        row.key,
        row.ticket,
        row.doc_id,
        row.commit,
        row.page,
        row.attempts,
        row.task_sys_id,
        bool(row.note_tried),
        bool(row.noted),
        bool(row.attached),
    )


def _json(row: Any) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.replace(tzinfo=value.tzinfo or UTC).isoformat() if value else None

    return {
        "id": row.id,
        "key": row.key,
        "ticket": row.ticket,
        "document_id": row.doc_id,
        "commit": row.commit,
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "next_attempt_at": moment(row.next_attempt_at),
        "created_at": moment(row.created_at),
        "delivered_at": moment(row.delivered_at),
    }
