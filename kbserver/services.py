"""The service's parts, built once from the settings and shared by the API and the CLI."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import sqlalchemy as sa

from approval.model import ChangeRequest
from approval.publishing import Publication, Publisher
from approval.records import ChangeRecords
from approval.workflow import Workflow
from kbserver.acks import ReadConfirmations
from kbserver.errors import KBError, NotFound
from kbserver.feedback.deviations import DeviationStore
from kbserver.feedback.flags import FlagStore
from kbserver.feedback.votes import FeedbackStore, Vote, purge_comments
from kbserver.manual.record import PROCEDURES
from kbserver.manual.versions import ManualArchive
from kbserver.metrics import Metrics
from kbserver.readiness import Readiness, ReadinessWatch, check, index_commit
from kbserver.reconciler import Reconciler, notify
from kbserver.repository import ContentRepository
from kbserver.repository.upstream import Upstream
from kbserver.search import CatchUp, SearchIndex, SearchService
from kbserver.search.log import SearchLog
from kbserver.servicenow.integration import ServiceNow
from kbserver.servicenow.outbox import end_intake, enqueue, intake_on
from kbserver.settings import Settings
from kbserver.site import Site
from kbserver.store import connect, migrate
from kbserver.store.checkpoints import Checkpointer
from kbserver.store.database import StoreBusy, WriteLock, no_wait, observe_write_waits, write_lock
from kbserver.tickets import TicketSystem
from kbserver.users import User, UserStore

log = logging.getLogger(__name__)
T = TypeVar("T")
LOOP_WAIT = 0.05  # seconds a request waits on the event loop for the store's write lock (see run_write)
_LOCKED, _BUSY = object(), object()  # what _write_now gives when it wrote nothing


def _write_now(lock: WriteLock, work: Callable[..., Any], *args: Any) -> Any:
    """work(*args) on this thread, if the store's write lock is free and SQLite does not make it wait;
    otherwise nothing is written, and the answer is _LOCKED (another writer holds the lock) or _BUSY (SQLite
    is held by a writer outside the lock, which only a thread should wait for)."""
    if not lock.acquire(blocking=False):
        return _LOCKED
    try:
        with no_wait():
            return work(*args)
    except StoreBusy:
        return _BUSY
    finally:
        lock.release()


@dataclass
class Services:
    """What a request or a command needs: settings, state store, content repository, site."""

    settings: Settings
    engine: sa.Engine
    users: UserStore
    repository: ContentRepository
    site: Site
    index: SearchIndex
    search: SearchService
    search_log: SearchLog
    search_pool: ThreadPoolExecutor
    deferred: ThreadPoolExecutor
    workflow: Workflow
    tickets: TicketSystem
    feedback: FeedbackStore
    flags: FlagStore
    deviations: DeviationStore
    metrics: Metrics
    manual: ManualArchive
    publisher: Publisher
    acks: ReadConfirmations
    readiness: ReadinessWatch = field(init=False, repr=False)
    reconciler: Reconciler = field(init=False, repr=False)
    servicenow: ServiceNow | None = None  # None unless KB_SERVICENOW_URL is set
    checkpoints: Checkpointer | None = None  # a running service's, on a SQLite file store
    _threads: dict[str, threading.Thread] = field(default_factory=dict, repr=False)
    _after_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _index_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _after_pending: tuple[str | None, str] | None = field(default=None, repr=False)
    _after_running: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.readiness = ReadinessWatch(
            self.check_readiness, self.settings.health_interval, self._observe, self.settings.ready_max_lag
        )
        self.reconciler = Reconciler(self)
        self.repository.on_write = self._pushed

    @classmethod
    def open(cls, settings: Settings, migrate_store: bool = True) -> Services:
        """Connect to the state store (migrating it) and open the content repository."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = connect(settings.resolved_database_url)
        if migrate_store:
            migrate(engine)
        repository = ContentRepository(settings.repo)
        if settings.upstream:
            repository.use_upstream(
                Upstream(settings.repo, settings.upstream, settings.upstream_credentials())
            )
        index = SearchIndex(settings.data_dir / "index")
        metrics = Metrics.for_process()
        observe_write_waits(engine, metrics.write_waited)
        records = ChangeRecords(engine)
        publisher = Publisher(engine, repository, records, settings.branch)
        services = cls(
            settings=settings,
            engine=engine,
            users=UserStore(engine),
            repository=repository,
            site=Site(settings.site_root),
            index=index,
            search=SearchService(index, cache_size=settings.search_cache),
            search_log=SearchLog(engine),
            # Whoosh is synchronous and each thread keeps a searcher: a small pool bounds the memory.
            search_pool=ThreadPoolExecutor(settings.search_threads, thread_name_prefix="search"),
            # One thread for the writes no answer waits for (a token's last use, a search log line in a busy
            # store): they queue there in order, and a locked store holds up only them.
            deferred=ThreadPoolExecutor(1, thread_name_prefix="deferred-write"),
            workflow=Workflow(records, repository, settings.data_dir / "merge.lock", settings.branch),
            tickets=TicketSystem.from_settings(settings),
            feedback=FeedbackStore(engine),
            flags=FlagStore(engine),
            deviations=DeviationStore(engine),
            metrics=metrics,
            manual=ManualArchive(settings, repository, records),
            publisher=publisher,
            acks=ReadConfirmations(
                engine, repository, settings.branch, settings.ack_days, lambda: publisher.state().published
            ),
        )
        services.servicenow = ServiceNow.open(settings, engine, services.search.lookup)
        return services

    def start_background(self) -> None:
        """What a running service does besides answering: catch up with main, deliver to ServiceNow."""
        self.reconciler.start()
        if self.checkpoints is None:
            self.checkpoints = Checkpointer.for_store(self.engine)
        # The index may be current already (no publish to follow), yet the store may lack the versions to
        # confirm: a first start after migration 9, or a restored store.
        self._start("acks", self.catch_up_acks)
        if self.servicenow is not None:
            self.servicenow.start()
        else:
            end_intake(self.engine)

    def ticket_link(self, page: str) -> Callable[[sa.Connection, Vote, bool], None] | None:
        """For feedback on a ticket: what puts the link in the ServiceNow outbox, in the feedback's own
        transaction; None while the integration is off. On SQLite a new vote's link is taken in by the
        delivery instead, from its feedback row (see kbserver/servicenow/outbox.py): only an updated vote,
        which may name another version of the document, is linked here."""
        if self.servicenow is None:
            return None
        intake = intake_on(self.engine)

        def link(conn: sa.Connection, vote: Vote, new: bool) -> None:
            if vote.ticket and not (new and intake):
                enqueue(conn, vote.ticket, vote.doc_id, vote.commit, page)

        return link

    def after_merge(self, number: int, commit: str) -> None:
        """What follows a merge: flags linked to the change request close."""
        self.flags.close_for_change(number, commit)

    def merge(self, user: User, number: int) -> ChangeRequest:
        """Merge a change request; linked flags close and the index catches up before this returns, while the
        site is rebuilt in the background (the old one is served until then)."""
        # The index lock keeps the reconciler from indexing the merge first: it is indexed here, in the
        # request (its log line carries the request's id), and the merge answers once search has it.
        with self._index_lock:
            merged = self.workflow.merge(user, number)
            self.after_merge(number, merged.merged_commit or "")
            self.catch_up_index(fresh=True)
        self.catch_up()
        return merged

    def _pushed(self, ref: str) -> None:
        # After every ref the service pushed, the other replicas hear of it (this one catches up after the
        # merge itself, in the request, so that the merge answers once the index has it).
        if self.repository.upstream is not None:
            notify(self.engine, ref)

    def after_publish(self, old: str | None, new: str) -> None:
        """In the background, after the published commit moved: the changed chapters and scripts to confirm
        recorded, the next manual version if the procedures changed, the deleted-id scan warmed for the next
        submit, old comments purged."""

        # Moves that arrive while the work runs are gathered into one range and done next: none is skipped.
        with self._after_lock:
            self._after_pending = (self._after_pending[0] if self._after_pending else old, new)
            if self._after_running:
                return
            self._after_running = True
        thread = threading.Thread(target=self._after_publish_loop, name="after-publish", daemon=True)
        thread.start()
        self._threads["after-publish"] = thread  # only once started: another thread may join it at any moment

    def _after_publish_loop(self) -> None:
        while True:
            with self._after_lock:
                if self._after_pending is None:
                    self._after_running = False
                    return
                (old, new), self._after_pending = self._after_pending, None
            try:
                self.catch_up_acks()
                self.workflow.prepare()
                purge_comments(self.engine, self.settings.comment_retention_days)
                if self.settings.manual_autobuild and self._procedures_changed(old, new):
                    self._build_manual()
            except Exception:  # logged; the next move tries again
                log.exception("after publishing %s: background work failed", new[:12])

    def _procedures_changed(self, old: str | None, new: str) -> bool:
        # Without an index before (a first start, a rebuilt index), what the new commit itself changed counts.
        try:
            return bool(self.repository.diff_paths(old or f"{new}^1", new, PROCEDURES))
        except NotFound:  # the seed commit has no parent
            return False

    def catch_up_acks(self) -> None:
        """Ask operators and leads to confirm the chapters and scripts changed up to the published commit (a
        failure is logged: the next look catches up)."""
        try:
            added = self.acks.catch_up()
        except Exception:
            log.exception("read confirmations: recording the changed documents failed")
            return
        if added:
            log.info("read confirmations: %d changed document version(s) to confirm", added)

    def _build_manual(self) -> None:
        """The manual's new version, and any newer one merged meanwhile, built and kept."""
        try:
            while (built := self.manual.build_latest()) is not None:
                log.info("manual: version %d built (%s)", built.version, built.commit[:12])
        except KBError as exc:
            log.error("manual: build failed: %s %s", exc.message, exc.details or "")
        except Exception:
            log.exception("manual: build failed")

    def _start(self, name: str, work: Callable[[], None]) -> None:
        running = self._threads.get(name)
        if running is None or not running.is_alive():
            thread = threading.Thread(target=work, name=f"catch-up-{name}", daemon=True)
            thread.start()
            self._threads[name] = thread  # only once started: another thread may join it at any moment

    def main_commit(self) -> str | None:
        """The head of the approved branch (what change requests start from)."""
        return self.repository.head(self.settings.branch)

    def publication(self, fresh: bool = False) -> Publication:
        """Main, the commit published from it, and the unverified commits that hold the rest back."""
        return self.publisher.state(fresh)

    def published_commit(self) -> str | None:
        """The commit operators see: the newest of main that `kb verify` accepts (or an admin did)."""
        return self.publisher.state().published

    def catch_up_index(self, fresh: bool = False) -> CatchUp | None:
        """Bring the search index to the published commit now (a missing or corrupt index is rebuilt)."""
        with self._index_lock:
            commit = self.publisher.state(fresh).published
            if commit is None:
                return None
            before = index_commit(self.index)
            if before == commit and not fresh:
                # The reconciler asks every second: when nothing moved, no index is opened and no lock taken
                # (opening the index to check its health held the GIL against every search).
                return CatchUp("current", commit, 0, 0.0)
            done = self.index.catch_up(self.repository, commit)
        if done.action != "current":
            self.after_publish(before, done.commit)
            log.info(
                "search index %s to %s (%d files, %.2f s)",
                done.action,
                done.commit[:12],
                done.changed,
                done.seconds,
                extra={"commit": done.commit, "files": done.changed, "seconds": round(done.seconds, 3)},
            )
            self.metrics.index_updated(done.action, done.seconds)
        self.readiness.poke()
        return done

    def check_readiness(self) -> Readiness:
        """Check now whether the service can answer operators (reads git and the store)."""
        return check(
            self.repository, self.settings.branch, self.published_commit, self.index, self.site, self.engine
        )

    def _observe(self, readiness: Readiness, lag_seconds: float) -> None:
        self.metrics.index_lag(readiness.index_behind, lag_seconds)

    def catch_up(self) -> None:
        """Catch up in the background: the index to the published commit, then the site."""
        self.reconciler.poke()
        if not self.reconciler.index.running:
            self._start("reconcile", self.reconciler.settle)

    def wait_for_background(self, timeout: float = 300) -> None:
        """Block until the index and the site have caught up and background work is done (tests and CLI)."""
        for thread in list(self._threads.values()):
            thread.join(timeout)
        if self.reconciler.index.running:
            self.reconciler.settle(timeout)
        for thread in list(self._threads.values()):
            thread.join(timeout)

    async def run_search(self, work: Callable[..., T], *args: Any) -> T:
        """Run a search call on the search threads, without blocking the event loop."""
        # With the request's context, so that a line logged by the search carries the request's id.
        call = functools.partial(contextvars.copy_context().run, work, *args)
        return await asyncio.get_running_loop().run_in_executor(self.search_pool, call)

    async def run_write(self, work: Callable[..., T], *args: Any) -> T:
        """Run a small frequent write (a vote, a logged search) that uses `store.database.writing`.

        On SQLite the write runs here on the event loop when it can take the store's write lock at once: it
        takes about 0.1 ms, and handing it to a thread cost several times that under load (each hand-over
        waits for the GIL). While another writer holds the lock (the ServiceNow delivery process, another
        worker process), the request waits for it here, asking again after a short sleep that serves the
        other requests meanwhile: votes that waited on threads instead queued six deep behind the pool and
        each needed the GIL back from the event loop, which made 100 ms stalls of 1 ms writes. A writer that
        holds the lock longer than LOOP_WAIT (a migration, a `kb` command) is waited for on a thread."""
        lock = write_lock(self.engine)
        if lock is not None:
            deadline, pause = time.monotonic() + LOOP_WAIT, 0.0005
            while (done := _write_now(lock, work, *args)) is _LOCKED and time.monotonic() < deadline:
                await asyncio.sleep(pause)
                pause = min(2 * pause, 0.004)
            if done is not _LOCKED and done is not _BUSY:
                return cast(T, done)
        return await asyncio.to_thread(work, *args)

    def defer_write(self, work: Callable[..., object], *args: Any) -> None:
        """Queue a write that no answer waits for on the background writer."""
        self.deferred.submit(_logged, work, *args)

    async def run_write_unless_busy(self, work: Callable[..., T], *args: Any) -> T | None:
        """Run a write the answer can do without (the search log line and its id) when the store can take it
        at once; when another writer holds it, queue the write on the background writer and return None, so
        that a locked store never holds up a search."""
        lock = write_lock(self.engine)
        if lock is None:  # PostgreSQL: no store-wide write lock to wait for
            return await asyncio.to_thread(work, *args)
        done = _write_now(lock, work, *args)
        if done is not _LOCKED and done is not _BUSY:
            return cast(T, done)
        self.defer_write(work, *args)
        return None

    def close(self) -> None:
        """Stop the background work, release the database connections and the search threads (after the
        queued writes)."""
        self.readiness.stop()
        self.reconciler.stop()
        if self.checkpoints is not None:
            self.checkpoints.stop()
        for thread in list(self._threads.values()):  # background work still using the store ends first
            thread.join(60)
        if self.servicenow is not None:
            self.servicenow.close()
        self.deferred.shutdown(wait=True)
        self.search_pool.shutdown(wait=True)
        self.search.close()
        self.engine.dispose()


def _logged(work: Callable[..., object], *args: Any) -> None:
    # A deferred write has no caller to tell: its failure goes to the log.
    try:
        work(*args)
    except Exception:
        log.exception("a deferred write failed")
