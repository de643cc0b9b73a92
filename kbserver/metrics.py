"""The service's metrics in the Prometheus text format (prometheus-client): kept in this process's memory, or,
under `kb serve`, in files of a directory that every worker writes and any worker reads to answer /metrics
(prometheus-client's multiprocess mode), so that a scrape sees the sum over all workers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

SHARED_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own name for it
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SLOW = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
RESULTS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def share_between_processes(directory: Path) -> None:
    """Empty directory and make it where this process and every worker it starts keep their metrics, so that
    the counts of an earlier run are not added to this one's."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[SHARED_DIR_VARIABLE] = str(directory.resolve())


class Metrics:
    """The series the service records; the methods are named after what happened."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.registry = CollectorRegistry(auto_describe=True)
        if directory is not None and values.ValueClass is values.MutexValue:
            # prometheus-client picks where values live when it is first imported, from the environment;
            # `kb serve` may have imported it before it chose the directory, so the choice is made again.
            values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
        # Shared values are collected from the files at each scrape; registering them here would count
        # this process twice.
        own = None if directory is not None else self.registry
        self.requests = Counter(
            "kb_http_requests",
            "HTTP requests answered, by route template",
            ["method", "route", "status"],
            registry=own,
        )
        self.request_seconds = Histogram(
            "kb_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ["method", "route"],
            buckets=LATENCY,
            registry=own,
        )
        self.search_seconds = Histogram(
            "kb_search_duration_seconds",
            "Time to run a search, queueing included",
            buckets=LATENCY,
            registry=own,
        )
        self.search_results = Histogram(
            "kb_search_results", "Documents found by a search (all pages)", buckets=RESULTS, registry=own
        )
        self.index_lag_commits = Gauge(
            "kb_index_lag_commits",
            "Commits on the approved branch that the search index does not reflect yet",
            multiprocess_mode="mostrecent",
            registry=own,
        )
        self.index_lag_seconds = Gauge(
            "kb_index_lag_seconds",
            "How long the search index has been behind the approved branch; 0 when it is at it",
            multiprocess_mode="mostrecent",
            registry=own,
        )
        self.index_update_seconds = Histogram(
            "kb_index_update_duration_seconds",
            "Time to bring the search index to a new commit",
            ["action"],
            buckets=SLOW,
            registry=own,
        )
        self.site_build_seconds = Histogram(
            "kb_site_build_duration_seconds", "Time to build the site of a commit", buckets=SLOW, registry=own
        )
        self.site_build_failures = Counter("kb_site_build_failures", "Site builds that failed", registry=own)
        self.votes = Counter(
            "kb_votes",
            "Feedback votes given (rate() of it gives votes per minute)",
            ["helpful"],
            registry=own,
        )
        self.flags = Counter("kb_flags", "Flags raised on documents", ["reason"], registry=own)
        self.store_write_wait_seconds = Histogram(
            "kb_store_write_wait_seconds",
            "Time a write waited for the state store (its write lock and a connection) before it began",
            buckets=LATENCY,
            registry=own,
        )

    @classmethod
    def for_process(cls) -> Metrics:
        """Shared between processes when PROMETHEUS_MULTIPROC_DIR is set (`kb serve` sets it), else kept
        in this process's memory."""
        shared = os.environ.get(SHARED_DIR_VARIABLE)
        return cls(Path(shared) if shared else None)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """An HTTP request was answered."""
        self.requests.labels(method, route, str(status)).inc()
        self.request_seconds.labels(method, route).observe(seconds)

    def search(self, seconds: float, results: int) -> None:
        """A search ran."""
        self.search_seconds.observe(seconds)
        self.search_results.observe(results)

    def index_lag(self, commits: int, seconds: float) -> None:
        """How far the search index is behind the approved branch."""
        self.index_lag_commits.set(commits)
        self.index_lag_seconds.set(seconds)

    def index_updated(self, action: str, seconds: float) -> None:
        """The search index was brought to a new commit (`updated` or `rebuilt`)."""
        self.index_update_seconds.labels(action).observe(seconds)

    def site_built(self, seconds: float) -> None:
        """A site build completed."""
        self.site_build_seconds.observe(seconds)

    def site_build_failed(self) -> None:
        """A site build failed."""
        self.site_build_failures.inc()

    def vote(self, helpful: bool) -> None:
        """Feedback was given on a document."""
        self.votes.labels("true" if helpful else "false").inc()

    def flag(self, reason: str) -> None:
        """A document was flagged."""
        self.flags.labels(reason).inc()

    def write_waited(self, seconds: float) -> None:
        """A write to the state store waited this long to begin."""
        self.store_write_wait_seconds.observe(seconds)

    def exposition(self) -> bytes:
        """Every series in the Prometheus text format: this process's, or the sum over every worker's."""
        if self.directory is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.directory))  # type: ignore[no-untyped-call]
        return generate_latest(registry)
