"""Search benchmark (issue: operator search): Whoosh against SQLite FTS5 on 1,000 and 10,000 documents.

Prints index build time, size and peak memory; in-process latency of a fixed query mix; HTTP latency
and throughput at 1 and 16 clients from a separate load-generator process (medians of several runs of the
same mix, the server's result cache off); commit-to-searchable time; and the server's memory.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import write_corpus  # noqa: E402
from fts5 import build_fts5, search_fts5  # noqa: E402
from querymix import CLASSES, query_mix  # noqa: E402

from kbserver.repository import SERVICE_AUTHOR, ContentRepository  # noqa: E402
from kbserver.search import SearchIndex, SearchService  # noqa: E402

SIZES = [int(n) for n in os.environ.get("KB_BENCH_SIZES", "1000,10000").split(",")]
KB = str(Path(sys.executable).with_name("kb"))
WORKERS = int(os.environ.get("KB_BENCH_WORKERS", "2"))  # one per core
HTTP_RUNS = 5  # at 16 clients; each run is 176 requests, so one run's p95 is its ninth slowest


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def du(path: Path) -> float:
    files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files) / 1e6


def timed(fn, mix, passes: int = 3) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Per class, the per-query median over passes (after one warm-up pass)."""
    for _, text, filters in mix:
        fn(text, filters)
    runs: dict[int, list[float]] = {i: [] for i in range(len(mix))}
    for _ in range(passes):
        for i, (_, text, filters) in enumerate(mix):
            started = time.perf_counter()
            fn(text, filters)
            runs[i].append(time.perf_counter() - started)
    by_class: dict[str, list[float]] = {c: [] for c in CLASSES}
    for i, (cls, _, _) in enumerate(mix):
        by_class[cls].append(statistics.median(runs[i]))
    return by_class


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """`kb serve` on a free port, once /api/health says its index is ready; returns (process, base URL)."""
    port = free_port()
    server = subprocess.Popen(
        [KB, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if json.load(urllib.request.urlopen(url + "/api/health", timeout=1))["index"]["commit"]:
                break
        except OSError:
            pass
        time.sleep(0.1)
    return server, url


def http_load(base: str, paths: list[str], concurrency: int, rounds: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, str(HERE / "loadgen.py"), base, str(concurrency), str(rounds)],
        input=json.dumps(paths),
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    lat = data["latencies"]
    return {
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "p99": pct(lat, 99),
        "rps": len(lat) / data["elapsed"],
        "errors": data["errors"],
    }


def pss_mb(pid: int) -> float:
    """A process's proportional memory: its own pages, and its share of the pages it shares (the index files
    every worker maps are counted once across them, not once per worker as RSS would)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_pss_mb(pid: int) -> float:
    """The memory of a process and its children (kb serve and its workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.is_file() else []
    return pss_mb(pid) + sum(tree_pss_mb(k) for k in kids)


def run(size: int, tmp: Path) -> None:
    print(f"\n=== {size:,} documents (mixed es/en, 300-1,500 words, seed 20261123)", flush=True)
    docs = write_corpus(tmp / "src", size)
    (tmp / "src" / "mkdocs.yml").write_text("site_name: bench\n")
    repo = ContentRepository.create(tmp / "repo", tmp / "src")
    data = tmp / "data"
    env = {
        **os.environ,
        "KB_REPO": str(tmp / "repo"),
        "KB_DATA_DIR": str(data),
        "KB_PUBLIC_READ": "true",
        "KB_SITE_AUTOBUILD": "false",
        "KB_LOG_LEVEL": "warning",
    }

    started = time.perf_counter()
    subprocess.run([KB, "index", "--rebuild"], env=env, check=True, capture_output=True)
    build = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    index = SearchIndex(data / "index")
    generation = index.generation()
    assert generation
    print(
        f"index build   {build:6.1f} s   size {du(generation):6.1f} MB   peak RSS {peak:6.0f} MB"
        " (largest process)"
    )

    fts_started = time.perf_counter()
    fts = build_fts5(tmp / "fts.db", docs)
    print(
        f"fts5 build    {time.perf_counter() - fts_started:6.1f} s   size {du(tmp / 'fts.db'):6.1f} MB"
        "  (baseline)"
    )

    mix = query_mix(docs)
    service = SearchService(index, cache_size=0)  # every query worked out, as if never asked before
    whoosh = timed(lambda q, f: service.search(q, f, limit=10), mix)
    cached_service = SearchService(index)
    cached = timed(lambda q, f: cached_service.search(q, f, limit=10), mix)
    cached_all = [t for ts in cached.values() for t in ts]
    base = timed(lambda q, f: search_fts5(fts, q, f), mix)
    print(f"in-process latency, ms (median of 3 passes per query; {len(mix)} queries; no result cache)")
    print(f"  {'class':<10} {'p50':>7} {'p95':>7} {'p99':>7}   {'FTS5 p50':>8} {'ratio':>6}")
    for cls in [*CLASSES, "all"]:
        w = [t for ts in whoosh.values() for t in ts] if cls == "all" else whoosh[cls]
        b = [t for ts in base.values() for t in ts] if cls == "all" else base[cls]
        ratio = pct(w, 50) / max(pct(b, 50), 1e-6)
        print(
            f"  {cls:<10} {pct(w, 50):7.1f} {pct(w, 95):7.1f} {pct(w, 99):7.1f}"
            f"   {pct(b, 50):8.2f} {ratio:5.1f}x"
        )

    print(
        f"  with the result cache (the same query again, same index state): p50 {pct(cached_all, 50):.2f}"
        f"  p95 {pct(cached_all, 95):.2f} ms"
    )
    cached_service.close()

    # The server's result cache is off, so that every run of the mix is worked out again (the in-process
    # figures above are without it too); with it, a query asked before answers in about 2 ms over HTTP.
    server, url = start_server({**env, "KB_SEARCH_CACHE": "0"}, workers=WORKERS)
    try:
        paths = [
            "/api/search?" + urllib.parse.urlencode({"q": q, **{k: v[0] for k, v in f.items()}})
            for _, q, f in mix
        ]
        # A running server is warm: every worker's search threads have opened their searchers.
        warm = [
            "/api/search?" + urllib.parse.urlencode({"q": q, **{k: v[0] for k, v in f.items()}})
            for _, q, f in query_mix(docs, seed=99)
        ]
        http_load(url, warm, 16, max(10, len(warm) // 16))
        for clients, runs in ((1, 3), (16, HTTP_RUNS)):
            rounds = max(10, 180 // clients)
            results = [http_load(url, paths, clients, rounds) for _ in range(runs)]
            med = {k: statistics.median(r[k] for r in results) for k in ("p50", "p95", "p99", "rps")}
            p95s = sorted(r["p95"] for r in results)
            errors = sum(r["errors"] for r in results)
            print(
                f"HTTP {clients:>2} client(s): p50 {med['p50']:6.1f}  p95 {med['p95']:6.1f}"
                f"  p99 {med['p99']:6.1f} ms   {med['rps']:6.1f} req/s   errors {errors}"
                f"   (medians of {runs} runs of {clients * rounds}; p95 from {p95s[0]:.1f} to {p95s[-1]:.1f})"
            )
        print(
            f"server memory after load: {tree_pss_mb(server.pid):.0f} MB PSS ({WORKERS} workers and their"
            " parent)"
        )
    finally:
        server.terminate()
        server.wait(10)

    path, original = docs[0]
    delays = []
    for n in range(10):
        word = f"zqmarker{n}x"
        started = time.perf_counter()
        commit = repo.commit_files(
            "main",
            {path: (original + f"\n{word}\n").encode()},
            "edit",
            SERVICE_AUTHOR,
            expected_head=repo.head("main"),
        )
        index.catch_up(repo, commit)
        assert service.search(word)["total"] == 1
        delays.append(time.perf_counter() - started)
    print(
        f"commit to searchable: p50 {pct(delays, 50):.0f} ms, p95 {pct(delays, 95):.0f} ms"
        " (10 one-document commits)"
    )


def main() -> None:
    for size in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            run(size, Path(tmp))


if __name__ == "__main__":
    main()
