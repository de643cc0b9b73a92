"""The one file lock (site builds, index writes, merges, SQLite writes): across processes and threads, never
left behind by a killed holder."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kbserver.errors import Conflict
from kbserver.filelock import FileLock, LockBusy, held

HOLDER = (
    "import sys; from kbserver.filelock import held\n"
    "with held(sys.argv[1]):\n    print('held', flush=True); sys.stdin.read()\n"
)


def test_a_lock_held_by_another_process_refuses_then_dies_with_it(tmp_path: Path) -> None:
    path = tmp_path / "folder" / ".lock"  # the folder is created
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            busy = "another build is running"
            with pytest.raises(LockBusy, match=busy) as refused, held(path, False, busy):
                pass
            assert isinstance(refused.value, Conflict)  # a 409 at the HTTP edge
            lock = FileLock(path)
            assert lock.acquire(wait=False) is False
            holder.kill()  # no release: the kernel drops the lock of a process that dies
            holder.wait()
            assert lock.acquire(wait=True) is True
            lock.release()
            lock.close()
        finally:
            holder.kill()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with held(tmp_path / ".lock"):
            inside.set()
            time.sleep(0.2)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    with held(tmp_path / ".lock"):  # waits for the other thread
        order.append("second in")
    thread.join()
    assert order == ["first out", "second in"]
