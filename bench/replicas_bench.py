"""Replicas (issue 14): searches per second through haproxy with one and with two `kb serve` replicas, and the
time from a merge on one replica to the new text being searchable on another (target: p95 <= 2 s).

Needs PostgreSQL (KB_BENCH_POSTGRES_URL or KB_TEST_POSTGRES_URL) and haproxy; says so and exits 0 without.
Run: .venv/bin/python bench/replicas_bench.py [--seconds 8] [--merges 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from kbserver.repository import ContentRepository  # noqa: E402
from kbserver.resources import starter_content  # noqa: E402
from kbserver.services import Services  # noqa: E402
from kbserver.settings import Settings  # noqa: E402
from tests.pgschema import postgres_schema  # noqa: E402
from tests.replicas.conftest import git_daemon  # noqa: E402
from tests.replicas.harness import Replica, Unavailable, haproxy, replica_set, wait_for  # noqa: E402

QUERIES = ["vpn no conecta", "sin internet", "contraseña caducada", "unidades de red", "impresora", "correo"]
ARTICLE = "docs/kb/red-vpn/vpn-lenta.md"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def search_load(lb: str, seconds: float, clients: int) -> tuple[float, float, float]:
    """(searches per second, p50 ms, p95 ms) of `clients` threads searching through the balancer."""
    times: list[float] = []
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(base_url=lb, timeout=30) as http:
            i = n
            while not stop.is_set():
                started = time.perf_counter()
                answer = http.get("/api/search", params={"q": QUERIES[i % len(QUERIES)], "limit": 10})
                if answer.status_code == 200:
                    times.append(time.perf_counter() - started)
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # warm-up
    times.clear()
    time.sleep(seconds)
    done = len(times)
    stop.set()
    for thread in threads:
        thread.join(30)
    return done / seconds, pct(times, 50) * 1000, pct(times, 95) * 1000


def merge_to_searchable(replicas: list[Replica], token: str, merges: int) -> list[float]:
    """Seconds from a merge answered by the first replica to its new word found by the second."""
    a, b = replicas[0], replicas[1]
    headers = {"authorization": f"Bearer {token}"}
    found = []
    for n in range(merges):
        word = f"zq{uuid.uuid4().hex[:8]}"
        with httpx.Client(base_url=a.url, headers=headers, timeout=60) as http:
            created = http.post("/api/changes", json={"title": f"Bench {n}"}).json()
            text = http.get("/api/documents/KB-0012").json()["markdown"]
            body = {"changes": {ARTICLE: text + f"\n{word}\n"}, "expected_head": created["head_commit"]}
            http.post(f"/api/changes/{created['number']}/commits", json=body).raise_for_status()
            http.post(f"/api/changes/{created['number']}/submit").raise_for_status()
        with httpx.Client(base_url=b.url, headers={"authorization": f"Bearer {TOKENS['lead2']}"}) as http:
            http.post(f"/api/changes/{created['number']}/approve", json={"body": "ok"}).raise_for_status()
        with httpx.Client(base_url=a.url, headers=headers, timeout=60) as http:
            http.post(f"/api/changes/{created['number']}/merge").raise_for_status()
            merged_at = time.monotonic()
        search = f"{b.url}/api/search"
        wait_for(
            lambda w=word, s=search: httpx.get(s, params={"q": w}, timeout=10).json()["total"] > 0,  # type: ignore[misc]
            30,
            "searchable on the other replica",
        )
        found.append(time.monotonic() - merged_at)
    return found


TOKENS: dict[str, str] = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--merges", type=int, default=10)
    args = parser.parse_args()
    base = os.environ.get("KB_BENCH_POSTGRES_URL") or os.environ.get("KB_TEST_POSTGRES_URL")
    if not base:
        print("replicas: skipped (set KB_BENCH_POSTGRES_URL or KB_TEST_POSTGRES_URL to a PostgreSQL)")
        return 0
    try:
        with postgres_schema(base, "bench") as url, tempfile.TemporaryDirectory() as tmp:
            return run(Path(tmp), url, args)
    except Unavailable as missing:
        print(f"replicas: skipped ({missing})")
        return 0


def run(tmp: Path, store: str, args: argparse.Namespace) -> int:
    ContentRepository.create(tmp / "seed", starter_content())
    served = tmp / "served"
    subprocess.run(["git", "clone", "-q", "--bare", str(tmp / "seed"), str(served / "c.git")], check=True)
    services = Services.open(Settings(repo=tmp / "seed", data_dir=tmp / "d0", database_url=store))
    for name, role in (("lead1", "lead"), ("lead2", "lead")):
        services.users.add(name, role, None, email=f"{name}@desk.example")
        TOKENS[name] = services.users.new_token(name)[1]
    services.close()
    with git_daemon(served) as prefix:
        # No site: the bench measures search and the index, not mkdocs.
        settings = {"KB_SITE_AUTOBUILD": "false", "KB_LOG_LEVEL": "warning"}
        replicas = replica_set(tmp, ("r1", "r2"), f"{prefix}/c.git", store, settings)
        try:
            for replica in replicas:
                replica.start()
            for replica in replicas:
                health = f"{replica.url}/api/health"  # no site is built: the index is what is measured
                wait_for(lambda u=health: httpx.get(u).json()["index"]["ready"], 120, "index ready")  # type: ignore[misc]
            rows = []
            for count in (1, 2):
                folder = tmp / f"lb{count}"
                folder.mkdir()
                with haproxy(replicas[:count], folder) as lb:
                    runs = [search_load(lb, args.seconds, args.clients) for _ in range(3)]
                p50s, p95s = [r[1] for r in runs], [r[2] for r in runs]
                rate = statistics.median(r[0] for r in runs)
                rows.append((count, rate, statistics.median(p50s), statistics.median(p95s)))
            one = rows[0][1]
            for count, rate, p50, p95 in rows:
                print(
                    f"replicas: {count} behind haproxy, {args.clients} clients: {rate:.0f} searches/s "
                    f"(x{rate / one:.2f} of one replica), p50 {p50:.0f} ms, p95 {p95:.0f} ms"
                )
            found = merge_to_searchable(replicas, TOKENS["lead1"], args.merges)
            print(
                f"replicas: merge on r1 to searchable on r2 over {len(found)} merges: "
                f"p50 {statistics.median(found) * 1000:.0f} ms, p95 {pct(found, 95) * 1000:.0f} ms "
                "(target p95 <= 2000 ms)"
            )
        finally:
            for replica in replicas:
                replica.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
