"""Python's cycle collector held off during a burst of allocation that makes no garbage cycles worth chasing.

A long report or a manual's layout makes hundreds of thousands of objects that stay alive until the work is
done. The collector's passes walk them again and again as they grow, and its full passes walk the whole
service too: measured, half the time of the read-confirmation report and a fifth of a 200-chapter manual.
Held off, objects without cycles are freed as usual when their last reference goes; work that does leave
cycles (WeasyPrint's boxes) asks for one collection of the youngest generation at the end, where everything
made meanwhile still is.

The collector is process-wide, so pauses in several threads share one: the last to finish resumes it (if it
was running before the first began) and runs the collection any of them asked for.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

__all__ = ["collector_paused"]


class _CollectorPause:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._resume = False
        self._collect = False

    @contextmanager
    def held(self, collect: bool) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._resume = gc.isenabled()
                self._collect = False
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                self._collect = self._collect or collect
                last = self._holders == 0
                if last and self._resume:
                    gc.enable()
                run = last and self._collect
            if run:
                gc.collect(0)


_PAUSE = _CollectorPause()


def collector_paused(collect: bool = False) -> AbstractContextManager[None]:
    """The cycle collector held off for the block; with collect, the youngest generation is collected once
    when the last pause ends (for work that leaves garbage cycles)."""
    return _PAUSE.held(collect)
