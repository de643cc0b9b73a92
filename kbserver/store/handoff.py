"""Small store writes of a background thread, run on the service's event loop instead.

On SQLite, a thread's write transaction releases the GIL several times (in each SQLite call) and waits up to a
switch interval (5 ms) to get it back from a busy event loop: a transaction of 0.1 ms held the store's write
lock for 10 to 30 ms, and every vote waiting for the lock waited as long. The ServiceNow outbox worker writes
twice per link, so each link it delivered stalled the requests in flight (p95 of a vote 16.0 -> 20.5 ms at 16
clients). Run on the event loop, where the votes themselves write, the same transaction holds the lock for its
0.1 ms and no thread hand-over happens inside it.

A write the loop cannot do at once (another process holds the lock) is handed back and done on the thread, as
before; so is every write while no loop is attached, and a write the loop has not started when the loop goes
away (the service stopping): nothing waits for a loop that is not running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from kbserver.store.database import StoreBusy, no_wait, write_lock

T = TypeVar("T")
POLL = 0.1  # seconds between looks at whether the loop is still attached, while a write waits for it


class _Job(Generic[T]):
    """One write handed to the loop: started there, or taken back by the thread (never both)."""

    def __init__(self, work: Callable[[], T]) -> None:
        self.work = work
        self.done = threading.Event()
        self.state = "waiting"  # -> "started" (by the loop) or "taken back" (by the thread)
        self.declined = False  # the loop could not take the write lock at once: the thread writes
        self.result: T | None = None
        self.error: BaseException | None = None
        self._guard = threading.Lock()

    def start(self) -> bool:
        with self._guard:
            if self.state != "waiting":
                return False
            self.state = "started"
            return True

    def take_back(self) -> bool:
        with self._guard:
            if self.state != "waiting":
                return False
            self.state = "taken back"
            return True


class LoopWrites:
    """Where a background thread's writes on one store run: on the attached event loop, else on the thread."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run writes on loop from now on (called on the loop's own thread). Only SQLite file stores have the
        write lock this is for; PostgreSQL writers do not queue on each other, and stay on their threads."""
        if write_lock(self.engine) is not None:
            self._loop, self._loop_thread = loop, threading.get_ident()

    def detach(self) -> None:
        """Run writes on their threads again; a write waiting for the loop is taken back."""
        self._loop = self._loop_thread = None

    def run(self, work: Callable[[], T]) -> T:
        """work() on the loop if one is attached and can take the store's write lock at once; else here."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            return work()
        job: _Job[T] = _Job(work)
        try:
            loop.call_soon_threadsafe(self._on_loop, job)
        except RuntimeError:  # the loop is closed
            return work()
        while not job.done.wait(POLL):
            if (self._loop is not loop or not loop.is_running()) and job.take_back():
                return work()
        if job.declined:
            return work()
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _on_loop(self, job: _Job[Any]) -> None:
        if not job.start():
            return
        lock = write_lock(self.engine)
        try:
            if lock is None or not lock.acquire(blocking=False):
                job.declined = True
                return
            try:
                with no_wait():
                    job.result = job.work()
            except StoreBusy:  # SQLite held by a writer outside the lock: only a thread may wait for it
                job.declined = True
            except BaseException as error:  # raised again on the thread that asked
                job.error = error
            finally:
                lock.release()
        finally:
            job.done.set()
