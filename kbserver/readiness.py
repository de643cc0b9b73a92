"""Readiness: can the service answer operators (its state store answers, the search index is at the approved
branch, a site is served)? Checked in the background and kept in memory, so that /readyz answers at once,
without touching git or the store."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from git.exc import GitError

from kbserver.errors import KBError
from kbserver.repository import ContentRepository
from kbserver.search import SearchIndex
from kbserver.site import Site
from kbserver.store.database import schema_version

log = logging.getLogger(__name__)
PARTS = ("state_store", "index", "site")


@dataclass(frozen=True)
class Check:
    """One part the service needs before it can answer operators."""

    ready: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """The state of every part, when it was checked, and how many commits the index is behind."""

    checks: dict[str, Check]
    index_behind: int = 0
    site_behind: bool = False
    checked_at: float = field(default_factory=time.time)

    @property
    def not_ready(self) -> list[str]:
        """The parts that are not ready, in the order of PARTS."""
        return [name for name, check in self.checks.items() if not check.ready]


def unchecked() -> Readiness:
    """What is known before the first check: nothing is ready."""
    return Readiness({name: Check(False, "not checked yet") for name in PARTS}, checked_at=0.0)


def index_commit(index: SearchIndex) -> str | None:
    """The commit the search index reflects, or None while it is missing or unreadable."""
    # While a corrupt index is rebuilt its marker may be unreadable, or its folder may vanish as the new
    # generation is swapped in: that is "not ready", not a failure.
    try:
        return index.commit()
    except (OSError, ValueError) as exc:
        log.info("health: the search index is not readable now (%s)", exc)
        return None


def _behind(repository: ContentRepository, index: str | None, main: str) -> int:
    try:
        return repository.count_commits(index, main)
    except (GitError, KBError):  # the index's commit is not in the repository: all of main is missing
        return repository.count_commits(None, main)


def check(
    repository: ContentRepository,
    branch: str,
    published: Callable[[], str | None],
    index: SearchIndex,
    site: Site,
    engine: sa.Engine,
) -> Readiness:
    """Check every part now (this reads git and the store: call it off the request path).

    The index and the site are measured against the published commit (the verified head of main). One that
    is behind still answers, from the last good state: ReadinessWatch fails it only once it has been behind
    for longer than the allowed lag."""
    unreadable = None
    try:
        main = published() if repository.head(branch) is not None else None
    except (GitError, KBError) as exc:
        log.warning("health: the content repository does not answer (%s)", exc)
        main, unreadable = None, "the content repository does not answer"
    if main is None and not (repository.path / "HEAD").is_file():
        unreadable = "the content repository does not answer"  # gone, or not a repository any more
    at = index_commit(index)
    behind = 0
    if main is None:
        index_check = Check(ready=False, detail=unreadable or f"branch {branch} has no published commit")
    elif at is None:
        index_check = Check(
            ready=False, detail=f"index at nothing (none built yet), published commit {main[:12]}"
        )
    elif at != main:
        behind = _behind(repository, at, main)
        detail = f"index at {at[:12]}, published commit {main[:12]} ({behind} commit(s) behind)"
        index_check = Check(ready=True, detail=detail)
    else:
        index_check = Check(ready=True, detail=f"index at {main[:12]}")
    served = site.served_commit()
    site_behind = site.served_dir() is not None and main is not None and served != main
    site_check = (
        Check(ready=True, detail=f"site of {(served or 'unknown commit')[:12]} served")
        if site.served_dir() is not None
        else Check(ready=False, detail="no site built yet")
    )
    try:
        store_check = Check(ready=True, detail=f"schema version {schema_version(engine)}")
    except sa.exc.SQLAlchemyError as exc:
        log.warning("health: the state store does not answer (%s)", exc)
        store_check = Check(ready=False, detail="the state store does not answer")
    checks = {"state_store": store_check, "index": index_check, "site": site_check}
    return Readiness(checks, behind, site_behind)


class ReadinessWatch:
    """Keeps the latest readiness: checked every `interval` seconds by a background thread, and at once when
    poked (after an index update or a site build). Tells `observe` the index's lag after each check."""

    def __init__(
        self,
        check: Callable[[], Readiness],
        interval: float,
        observe: Callable[[Readiness, float], None] | None = None,
        max_lag: float = 60.0,
    ) -> None:
        self._check = check
        self._interval = interval
        self._observe = observe
        self._max_lag = max_lag
        self._latest = unchecked()
        self._behind_since: float | None = None
        self._site_behind_since: float | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def latest(self) -> Readiness:
        """The last readiness checked, without checking anything."""
        return self._latest

    def refresh(self) -> Readiness:
        """Check now, keep the answer, and return it."""
        with self._lock:
            found = self._check()
            now = time.monotonic()
            if found.index_behind or not found.checks["index"].ready:
                self._behind_since = self._behind_since or now
            else:
                self._behind_since = None
            self._site_behind_since = (self._site_behind_since or now) if found.site_behind else None
            lag = now - self._behind_since if self._behind_since is not None else 0.0
            found = self._too_late(found, lag, now - (self._site_behind_since or now))
            self._latest = found
        if self._observe is not None:
            self._observe(found, lag)
        return found

    def _too_late(self, found: Readiness, index_lag: float, site_lag: float) -> Readiness:
        # Behind for a moment is normal after every merge; behind for longer than allowed is not ready.
        checks = dict(found.checks)
        for name, lag in (("index", index_lag), ("site", site_lag)):
            if checks[name].ready and lag > self._max_lag:
                detail = f"{checks[name].detail}; behind for {lag:.0f} s (more than {self._max_lag:.0f} s)"
                checks[name] = Check(ready=False, detail=detail)
        return Readiness(checks, found.index_behind, found.site_behind, found.checked_at)

    def poke(self) -> None:
        """Check again soon, without waiting for the interval."""
        self._wake.set()

    def start(self) -> None:
        """Check in the background until stop() (a second call does nothing)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="readiness", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the background checks."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.refresh()
            except Exception:  # a check that fails unexpectedly must not end the checks
                log.exception("health: the readiness check failed")
            self._wake.wait(self._interval)
