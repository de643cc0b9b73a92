"""Approval benchmark (issue: change requests): 5,000 documents, 10,000 commits of history.

Prints the median time of create, write, submit, approve and merge (target < 1 s each) and of merge to
searchable (target < 2 s).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import write_corpus  # noqa: E402

from kbserver.repository import ContentRepository  # noqa: E402
from kbserver.services import Services  # noqa: E402
from kbserver.settings import Settings  # noqa: E402

DOCS = int(os.environ.get("KB_BENCH_DOCS", "5000"))
COMMITS = int(os.environ.get("KB_BENCH_COMMITS", "10000"))
ROUNDS = 5


def build_history(repo: Path, docs: list[tuple[str, str]], commits: int) -> None:
    """Add commits-1 one-file commits on main with git fast-import (benchmark setup only)."""
    lines = []
    for n in range(1, commits):
        path, text = docs[n % len(docs)]
        data = (text + f"\nRevisión {n}.\n").encode()
        message = f"Revision {n}".encode()
        lines.append(b"commit refs/heads/main\n")
        lines.append(f"committer Bench <bench@example.test> {1_700_000_000 + n} +0000\n".encode())
        lines.append(b"data %d\n%s\n" % (len(message), message))
        if n == 1:
            lines.append(b"from refs/heads/main^0\n")
        lines.append(f"M 100644 inline {path}\n".encode())
        lines.append(b"data %d\n%s\n" % (len(data), data))
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=b"".join(lines), check=True)


def lap(times: dict[str, list[float]], step: str, since: float) -> float:
    """Record the time since `since` under step; returns now."""
    now = time.perf_counter()
    times[step].append(now - since)
    return now


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs = write_corpus(root / "src", DOCS)
        (root / "src" / "mkdocs.yml").write_text("site_name: bench\n")
        repo = ContentRepository.create(root / "repo", root / "src")
        build_history(root / "repo", docs, COMMITS)
        count = int(subprocess.check_output(["git", "-C", str(root / "repo"), "rev-list", "--count", "main"]))
        services = Services.open(Settings(repo=root / "repo", data_dir=root / "data", site_autobuild=False))
        started = time.perf_counter()
        services.catch_up_index()
        services.workflow.prepare()  # what the service does in the background at start
        print(f"{DOCS:,} documents, {count:,} commits; index built in {time.perf_counter() - started:.1f} s")
        for name in ("lead1", "lead2"):
            services.users.add(name, "lead", "bench-password")
        lead1, lead2 = services.users.get("lead1"), services.users.get("lead2")
        flow = services.workflow
        times: dict[str, list[float]] = {
            k: [] for k in ("create", "write", "submit", "approve", "merge", "searchable")
        }
        for n in range(ROUNDS):
            path, _ = docs[(n * 37) % len(docs)]
            marker = f"zqbench{n}marker"
            clock = time.perf_counter()
            change = flow.create(lead1, f"Cambio de prueba {n}")
            clock = lap(times, "create", clock)
            text = repo.read(change.head_commit, path) or b""
            clock = time.perf_counter()
            flow.write(
                lead1, change.number, {path: text + f"\n{marker}\n".encode()}, change.head_commit, "edit"
            )
            clock = lap(times, "write", clock)
            flow.submit(lead1, change.number)
            clock = lap(times, "submit", clock)
            flow.approve(lead2, change.number)
            clock = lap(times, "approve", clock)
            merge_started = clock
            flow.merge(lead1, change.number)
            lap(times, "merge", clock)
            services.catch_up_index()
            assert services.search.search(marker)["total"] == 1
            lap(times, "searchable", merge_started)
        print(f"median of {ROUNDS} change requests (one document each):")
        for step, values in times.items():
            target = 2.0 if step == "searchable" else 1.0
            median = statistics.median(values)
            label = "merge to searchable" if step == "searchable" else step
            verdict = "met" if median < target else "NOT met"
            print(f"  {label:<20} {median * 1000:8.0f} ms   (target < {target:.0f} s: {verdict})")
        services.close()


if __name__ == "__main__":
    main()
