"""Small frequent writes on SQLite: done at once on the event loop when the store is free, queued on a thread
(never blocking the loop) when another writer holds it, in this process or another."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from kbserver.feedback.votes import Outcome, Vote
from kbserver.services import Services
from kbserver.store.database import write_lock
from kbserver.store.schema import feedback


def _vote(services: Services, ticket: str) -> Vote:
    user = services.users.add("ana", "operator", None)
    return Vote(user.id, "KB-0001", "a" * 40, ticket, True, Outcome.RESOLVED, None)


def _rows(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(feedback)).scalar_one())


async def _wait_while_loop_runs(task: asyncio.Task[object], seconds: float) -> float:
    """Let the loop run for a while with the task pending; returns the longest gap between the loop's ticks
    (a loop blocked by the task would show the whole wait, up to SQLite's 30 s busy timeout)."""
    longest, last = 0.0, time.monotonic()
    for _ in range(int(seconds / 0.01)):
        await asyncio.sleep(0.01)
        now = time.monotonic()
        longest, last = max(longest, now - last), now
        assert not task.done()
    return longest


def test_a_free_store_is_written_on_the_event_loop(services: Services) -> None:
    loop_thread = threading.get_ident()

    async def go() -> tuple[int, int]:
        record, created = await services.run_write(services.feedback.record, _vote(services, "INC0000001"))
        assert created and record["ticket"] == "INC0000001"
        return threading.get_ident(), await services.run_write(threading.get_ident)

    awaited_on, ran_on = asyncio.run(go())
    assert ran_on == awaited_on == loop_thread
    assert _rows(services) == 1


def test_a_write_briefly_held_by_a_background_thread_is_waited_for_on_the_event_loop(
    services: Services,
) -> None:
    """The ServiceNow outbox's thread writes through the same lock: a request waits for it on the loop (a
    worker thread would need the GIL back from the loop, which made long stalls), and writes there."""
    lock = write_lock(services.engine)
    assert lock is not None
    held, release = threading.Event(), threading.Event()

    def background_writer() -> None:
        assert lock is not None and lock.acquire()
        try:
            held.set()
            release.wait(10)
        finally:
            lock.release()

    async def go() -> tuple[int, int]:
        thread = threading.Thread(target=background_writer)
        thread.start()
        assert held.wait(10)
        asyncio.get_running_loop().call_later(0.02, release.set)  # held for a fraction of LOOP_WAIT
        ran_on = await services.run_write(threading.get_ident)
        thread.join(10)
        return threading.get_ident(), ran_on

    loop_thread, ran_on = asyncio.run(go())
    assert ran_on == loop_thread


def test_a_vote_waits_for_another_sqlite_writer_without_blocking_the_loop(services: Services) -> None:
    vote = _vote(services, "INC0000002")
    database = services.engine.url.database
    assert database
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. a `kb` command writing in another process

    async def go() -> None:
        task = asyncio.ensure_future(services.run_write(services.feedback.record, vote))
        assert await _wait_while_loop_runs(task, 0.4) < 1.0
        assert _rows(services) == 0  # the busy try wrote nothing
        other.execute("COMMIT")
        record, created = await asyncio.wait_for(task, 10)
        assert created and record["ticket"] == "INC0000002"

    try:
        asyncio.run(go())
    finally:
        other.close()
    assert _rows(services) == 1


def test_writers_in_other_processes_queue_on_the_lock_file(services: Services, tmp_path: Path) -> None:
    vote = _vote(services, "INC0000003")
    database = services.engine.url.database
    assert database
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT);"
            " fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
            database + ".writelock",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout and holder.stdin
    assert holder.stdout.readline().strip() == "held"
    lock = write_lock(services.engine)
    assert lock is not None and not lock.acquire(blocking=False)

    async def go() -> None:
        task = asyncio.ensure_future(services.run_write(services.feedback.record, vote))
        assert await _wait_while_loop_runs(task, 0.4) < 1.0
        assert holder.stdin
        holder.stdin.close()  # the other process ends, and the kernel drops its lock
        record, _ = await asyncio.wait_for(task, 10)
        assert record["ticket"] == "INC0000003"

    try:
        asyncio.run(go())
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert _rows(services) == 1
    assert lock.acquire(blocking=False)
    lock.release()
