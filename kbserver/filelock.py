"""Exclusive locks across processes on a lock file, with flock(2).

The kernel drops a lock when the last descriptor of its holder closes, so a process that crashes or is killed
never leaves one behind (a lock that is a file's existence would). Each FileLock opens its own descriptor, so
two of them on the same file exclude each other also between threads of one process.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kbserver.errors import Conflict


class LockBusy(Conflict):
    """Someone else holds the lock, and the caller asked not to wait for it."""


class FileLock:
    """An exclusive lock on the file at path; the file (and its folder) is created when missing."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def acquire(self, wait: bool = True) -> bool:
        """Take the lock, waiting for it; without wait, return False at once when someone else holds it."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        """Let the next holder in; the file stays open for the next acquire."""
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the file, which releases the lock if it is held."""
        os.close(self._fd)


@contextmanager
def held(path: Path | str, wait: bool = True, busy: str = "") -> Iterator[None]:
    """Hold the lock file at path for the block; without wait, LockBusy (saying busy) at once when someone
    else holds it."""
    lock = FileLock(path)
    try:
        if not lock.acquire(wait):
            raise LockBusy(busy or f"{path} is locked")
        yield
    finally:
        lock.close()
