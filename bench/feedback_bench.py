"""Feedback benchmark (issue: feedback loop).

Prints POST /api/feedback latency at 16 concurrent clients (load from a separate process; target p95 25 ms on
SQLite) and the time of each report over 1,000,000 feedback rows on SQLite and on PostgreSQL (target < 2 s).
PostgreSQL runs when KB_BENCH_POSTGRES_URL names a database it may empty and fill; otherwise it says so.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sqlalchemy as sa  # noqa: E402
from search_bench import http_load, start_server  # noqa: E402

from kbserver.feedback import reports  # noqa: E402
from kbserver.feedback.votes import monday  # noqa: E402
from kbserver.repository import ContentRepository  # noqa: E402
from kbserver.resources import starter_content  # noqa: E402
from kbserver.store import connect, migrate  # noqa: E402
from kbserver.store.schema import feedback, search_log  # noqa: E402
from kbserver.users import UserStore  # noqa: E402

ROWS = int(os.environ.get("KB_BENCH_FEEDBACK_ROWS", "1000000"))
CLIENTS, ROUNDS, RUNS = 16, 100, 5
KB = str(Path(sys.executable).with_name("kb"))


def post_latency(tmp: Path) -> None:
    repo = tmp / "content"
    ContentRepository.create(repo, starter_content())
    env = {
        **os.environ,
        "KB_REPO": str(repo),
        "KB_DATA_DIR": str(tmp / "data"),
        "KB_SITE_AUTOBUILD": "false",
        "KB_LOG_LEVEL": "warning",
    }
    subprocess.run([KB, "user", "add", "ana", "--role", "operator"], env=env, check=True, capture_output=True)
    token = subprocess.run([KB, "user", "token", "ana"], env=env, check=True, capture_output=True, text=True)
    server, url = start_server(env)
    try:
        rng = random.Random(5)
        ids = [f"KB-{n:04d}" for n in range(1, 31)]

        def votes(count: int) -> list[list[object]]:
            # New tickets, so that most votes are inserts, as at a desk; a few repeat and update.
            return [
                [
                    "POST",
                    "/api/feedback",
                    {
                        "document_id": rng.choice(ids),
                        "ticket": f"INC{rng.randrange(10**7):07d}",
                        "helpful": rng.random() < 0.7,
                        "outcome": rng.choice(["resolved", "escalated", "pending"]),
                    },
                ]
                for _ in range(count)
            ]

        os.environ["KB_BENCH_TOKEN"] = token.stdout.strip()
        http_load(url, votes(CLIENTS * 10), CLIENTS, 10)  # warm-up: connections, caches
        runs = [http_load(url, votes(CLIENTS * ROUNDS), CLIENTS, ROUNDS) for _ in range(RUNS)]
        for n, r in enumerate(runs, 1):
            print(
                f"  run {n}: p50 {r['p50']:5.1f} ms, p95 {r['p95']:5.1f} ms, p99 {r['p99']:5.1f} ms,"
                f" {r['rps']:5.0f} req/s, errors {r['errors']}"
            )
        p50, p95 = (statistics.median(r[k] for r in runs) for k in ("p50", "p95"))
        verdict = "met" if p95 <= 25 else "NOT met"
        print(
            f"POST /api/feedback, {CLIENTS} clients, {RUNS} runs of {CLIENTS * ROUNDS} votes (medians):"
            f" p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 25 ms on SQLite: {verdict})"
        )
    finally:
        server.terminate()
        server.wait(10)


def fill(engine: sa.Engine, rows: int) -> None:
    """rows feedback rows over 26 weeks, 500 documents, 200 operators, and 100,000 logged searches."""
    migrate(engine)
    users = UserStore(engine)
    user_ids = [users.add(f"op{n}", "operator", None).id for n in range(200)]
    rng = random.Random(11)
    start = datetime(2026, 5, 1, tzinfo=UTC)
    batch = []
    for n in range(rows):
        created = start + timedelta(minutes=rng.randrange(26 * 7 * 24 * 60))
        batch.append(
            {
                "user_id": rng.choice(user_ids),
                "doc_id": f"KB-{rng.randrange(1, 501):04d}",
                "commit": rng.choice("abcd") * 40,
                "ticket": f"INC{n:07d}" if rng.random() < 0.9 else f"X{n}",
                "helpful": rng.random() < 0.7,
                "outcome": rng.choice(["resolved", "escalated", "pending", None]),
                "comment": None,
                "created_at": created,
                "updated_at": created,
                "week": monday(created),
            }
        )
        if len(batch) == 50_000:
            with engine.begin() as conn:
                conn.execute(feedback.insert(), batch)
            batch = []
    searches = [
        {
            "query": f"consulta {rng.randrange(5000)}",
            "filters": "{}",
            "results": rng.choice([0, 0, 3, 8]),
            "user_id": None,
            "created_at": start + timedelta(minutes=rng.randrange(26 * 7 * 24 * 60)),
        }
        for _ in range(100_000)
    ]
    with engine.begin() as conn:
        if batch:
            conn.execute(feedback.insert(), batch)
        conn.execute(search_log.insert(), searches)
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE"))


def time_reports(name: str, engine: sa.Engine) -> None:
    span = (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    current = {
        f"KB-{n:04d}": {"owner": "o", "title": "t", "updated": "", "changed": "a" * 40} for n in range(1, 501)
    }
    jobs = {
        "per document": lambda: reports.per_document(engine, span, current.get),
        "content gaps": lambda: reports.content_gaps(engine, span),
        "desk KPIs": lambda: reports.desk_kpis(engine, span),
    }
    for label, job in jobs.items():
        times = []
        for _ in range(3):
            started = time.perf_counter()
            job()
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        print(
            f"  {name:<10} {label:<13} {median:6.2f} s  (target < 2 s: {'met' if median < 2 else 'NOT met'})"
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        post_latency(Path(tmp))
        print(f"reports over {ROWS:,} feedback rows (median of 3):")
        engine = connect(f"sqlite:///{Path(tmp) / 'bench.db'}")
        fill(engine, ROWS)
        time_reports("SQLite", engine)
        engine.dispose()
    pg = os.environ.get("KB_BENCH_POSTGRES_URL")
    if not pg:
        print("  PostgreSQL: skipped (set KB_BENCH_POSTGRES_URL to an empty database to run it)")
        return
    engine = connect(pg)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    fill(engine, ROWS)
    time_reports("PostgreSQL", engine)
    engine.dispose()


if __name__ == "__main__":
    main()
