"""The cycle collector's pause (kbserver.collector): shared by threads, resumed by the last, collecting once
when asked."""

from __future__ import annotations

import gc
import threading
import weakref

from kbserver.collector import collector_paused


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_the_collector_is_held_off_and_resumed_as_it_was() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: the pause does not turn it on
    finally:
        gc.enable()


def test_pauses_in_two_threads_share_one_and_the_last_resumes_and_collects() -> None:
    entered, leave = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    with collector_paused(collect=True):
        thread.start()
        assert entered.wait(10)
        node = _Node()
        dead = weakref.ref(node)
        del node
    assert not gc.isenabled() and dead() is not None  # the other thread still holds the pause
    leave.set()
    thread.join(10)
    assert gc.isenabled()
    assert dead() is None  # the collection asked for ran when the last pause ended
