"""A background thread's store writes run on the service's event loop while one is attached and can take the
write lock; otherwise on the thread, and never wait for a loop that has stopped."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from kbserver.store import connect
from kbserver.store.database import write_lock, writing
from kbserver.store.handoff import LoopWrites


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = connect(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE rows (thread INTEGER)"))
    yield engine
    engine.dispose()


@contextmanager
def loop_thread() -> Iterator[tuple[asyncio.AbstractEventLoop, threading.Thread]]:
    """An event loop running on a thread of its own, as the service's is."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop, thread
    finally:
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _attached(writes: LoopWrites, loop: asyncio.AbstractEventLoop) -> None:
    async def attach() -> None:
        writes.attach(asyncio.get_running_loop())

    asyncio.run_coroutine_threadsafe(attach(), loop).result(5)


def _write(engine: sa.Engine) -> int:
    with writing(engine) as conn:
        conn.execute(sa.text("INSERT INTO rows VALUES (:t)"), {"t": threading.get_ident()})
    return threading.get_ident()


def test_writes_run_on_the_attached_loop_and_on_the_thread_without_one(engine: sa.Engine) -> None:
    writes = LoopWrites(engine)
    assert writes.run(lambda: _write(engine)) == threading.get_ident()  # nothing attached: here
    with loop_thread() as (loop, thread):
        _attached(writes, loop)
        assert writes.run(lambda: _write(engine)) == thread.ident
        with pytest.raises(ZeroDivisionError):  # an error is raised where the write was asked for
            writes.run(lambda: 1 // 0)
        writes.detach()
        assert writes.run(lambda: _write(engine)) == threading.get_ident()
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM rows")) == 3


def test_a_held_lock_sends_the_write_back_to_its_thread(engine: sa.Engine) -> None:
    """The loop never waits for the lock: while another writer holds it, the asking thread does."""
    writes = LoopWrites(engine)
    lock = write_lock(engine)
    assert lock is not None
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        lock.acquire()
        held.set()
        release.wait(5)
        lock.release()

    with loop_thread() as (loop, _):
        _attached(writes, loop)
        threading.Thread(target=holder).start()
        held.wait(5)
        threading.Timer(0.2, release.set).start()
        started = time.monotonic()
        assert writes.run(lambda: _write(engine)) == threading.get_ident()
        assert time.monotonic() - started >= 0.15  # it waited for the holder, on this thread
        writes.detach()


def test_a_stopped_loop_is_not_waited_for(engine: sa.Engine) -> None:
    writes = LoopWrites(engine)
    with loop_thread() as (loop, thread):
        _attached(writes, loop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        started = time.monotonic()
        assert writes.run(lambda: _write(engine)) == threading.get_ident()
        assert time.monotonic() - started < 1.0
