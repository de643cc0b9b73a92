"""Procedures-manual benchmark (issue 16).

Prints the time to build the manual's PDF/A at 8 chapters (the starter content) and at 200 chapters (target
under 10 s), beside a baseline measured in the same run: WeasyPrint printing a one-page document (the PDF
stack's fixed cost). Then the read-confirmation report over 500 operators, 20 leads and 209 documents (200
chapters and 9 chat scripts) with about 150,000 recorded confirmations (target under 1 s), beside the baseline
of merely reading every confirmation row once. Medians of several runs; `--quick` for development (fewer
chapters, people and runs).
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sqlalchemy as sa  # noqa: E402

from kbserver.manual import Cover, build_manual  # noqa: E402
from kbserver.manual.pdf import render_pdf  # noqa: E402
from kbserver.repository import SERVICE_AUTHOR, ContentRepository  # noqa: E402
from kbserver.resources import starter_content  # noqa: E402
from kbserver.services import Services  # noqa: E402
from kbserver.settings import Settings  # noqa: E402
from kbserver.store.schema import read_confirmations, users  # noqa: E402

COVER = Cover("MAN-BENCH", "Mesa de ayuda TI", "Cliente", "es")
PROCEDURES = "docs/procedures"


def median_time(work: Callable[[], object], runs: int) -> float:
    """The median wall time of runs calls of work, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def content(root: Path, chapters: int) -> Path:
    """The starter content with generated chapters up to `chapters`: copies of the starter's eight, each with
    its own id, title and order (so headings, lists, tables and admonitions are what a real manual has)."""
    source = root / f"content-{chapters}"
    if source.exists():
        return source
    shutil.copytree(starter_content(), source)
    originals = sorted(p for p in (source / PROCEDURES).glob("0*.md"))
    for n in range(len(originals) + 1, chapters + 1):
        text = originals[n % len(originals)].read_text()
        text = re.sub(r"(?m)^id: PROC-\d+$", f"id: PROC-{n:03d}", text, count=1)
        text = re.sub(r"(?m)^title: (.*)$", rf"title: \1 ({n})", text, count=1)
        text = re.sub(r"(?m)^order: \d+$", f"order: {n}", text, count=1)
        (source / PROCEDURES / f"{n:03d}-generado.md").write_text(text)
    return source


def manual_times(root: Path, sizes: list[int], runs: int) -> None:
    """Build the manual at each size; print the medians beside the one-page baseline."""
    repo = ContentRepository.create(root / "repo-baseline", starter_content())
    commit = repo.head("main") or ""
    page = "<!DOCTYPE html><html lang='es'><body><h1>Manual</h1><p>Una página.</p></body></html>"
    render_pdf(page, {}, repo, commit, "2026-01-01T00:00:00Z")  # fonts and WeasyPrint loaded once
    baseline = median_time(lambda: render_pdf(page, {}, repo, commit, "2026-01-01T00:00:00Z"), runs)
    print(f"manual: baseline, WeasyPrint printing one page (PDF/A, attachment): {baseline:.2f} s")
    for chapters in sizes:
        repo = ContentRepository.create(root / f"repo-{chapters}", content(root, chapters))
        size = len(build_manual(repo, "main", COVER).pdf) / 1e3  # also warms up git's reader
        seconds = median_time(lambda repo=repo: build_manual(repo, "main", COVER), runs)
        verdict = "" if chapters < 200 else f" (target < 10 s: {'met' if seconds < 10 else 'NOT met'})"
        print(f"manual: {chapters:>3} chapters: {seconds:6.2f} s, {size:,.0f} kB, median of {runs}{verdict}")


def people(services: Services, operators: int, leads: int) -> list[int]:
    """Operators and leads who joined before the changes, inserted at once; returns their ids."""
    joined = datetime.now(UTC) - timedelta(days=60)
    rows = [
        {
            "name": f"op{n:04d}",
            "display_name": f"Operador {n}",
            "email": f"op{n}@desk.test",
            "role": "operator",
        }
        for n in range(operators)
    ] + [
        {"name": f"lead{n:03d}", "display_name": f"Líder {n}", "email": f"lead{n}@desk.test", "role": "lead"}
        for n in range(leads)
    ]
    with services.engine.begin() as conn:
        conn.execute(users.insert(), [r | {"disabled": False, "created_at": joined} for r in rows])
        return list(conn.scalars(sa.select(users.c.id).where(users.c.role.in_(["operator", "lead"]))))


def change_every_document(repo: ContentRepository, rounds: int) -> None:
    """rounds commits on main, each changing the text of every chapter and script (each a new version)."""
    for n in range(rounds):
        head = repo.head("main") or ""
        changes: dict[str, bytes | None] = {}
        for prefix in ("docs/procedures/", "docs/scripts/"):
            for path, source in repo.files(head, prefix):
                if not path.endswith("index.md"):
                    changes[path] = source + f"\nCambio {n + 1}: plazo revisado.\n".encode()
        repo.commit_files("main", changes, f"Cambio {n + 1}", SERVICE_AUTHOR, head)


def confirm_most(services: Services, ids: list[int], rng: random.Random) -> int:
    """Most people confirmed each version they were asked about (fewer the newer it is); returns the rows."""
    with services.engine.connect() as conn:
        found = conn.execute(sa.text('SELECT doc_id, seq, "commit", audience FROM document_versions')).all()
        roles = dict(conn.execute(sa.select(users.c.id, users.c.role)).all())
    newest = max(seq for _, seq, _, _ in found)
    rows = []
    now = datetime.now(UTC)
    for doc_id, seq, commit, audience in found:
        if seq == 1:
            continue  # the seed asks nobody
        share = 0.9 if seq < newest else 0.5
        wanted = {"operator"} if audience == "L1" else {"lead"} if audience == "L2" else {"operator", "lead"}
        for user_id in ids:
            if roles[user_id] in wanted and rng.random() < share:
                rows.append(
                    {"user_id": user_id, "doc_id": doc_id, "seq": seq, "commit": commit, "confirmed_at": now}
                )
    with services.engine.begin() as conn:
        for start in range(0, len(rows), 20_000):
            conn.execute(read_confirmations.insert(), rows[start : start + 20_000])
    return len(rows)


def ack_times(root: Path, chapters: int, operators: int, leads: int, runs: int) -> None:
    """The read-confirmation report over a desk of that size, beside reading every confirmation once."""
    repo = ContentRepository.create(root / "repo-acks", content(root, chapters))
    change_every_document(repo, 2)
    settings = Settings(
        repo=repo.path, data_dir=root / "data-acks", site_autobuild=False, manual_autobuild=False
    )
    services = Services.open(settings)
    ids = people(services, operators, leads)
    started = time.perf_counter()
    versions = services.acks.catch_up()
    scan = time.perf_counter() - started
    stored = confirm_most(services, ids, random.Random(16))
    documents = len(services.acks.documents())
    print(
        f"acks: {operators} operators, {leads} leads, {documents} documents, {versions} versions "
        f"(read from git in {scan:.2f} s), {stored:,} confirmations"
    )

    def read_all() -> None:
        with services.engine.connect() as conn:
            conn.execute(sa.select(read_confirmations.c.user_id, read_confirmations.c.doc_id)).all()

    baseline = median_time(read_all, runs)
    print(f"acks: baseline, reading every confirmation row once:        {baseline * 1000:7.0f} ms")
    for label, work in (
        ("per document (GET /api/acks)", services.acks.documents),
        ("per person (GET /api/acks/people, kb report acks)", services.acks.people),
        ("one operator's asks (GET /api/acks/mine)", lambda: services.acks.due(services.users.get("op0001"))),
    ):
        seconds = median_time(work, runs)
        verdict = "met" if seconds < 1 else "NOT met"
        print(f"acks: {label:<50} {seconds * 1000:7.0f} ms, median of {runs} (target < 1 s: {verdict})")
    services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller and fewer runs, for development")
    args = parser.parse_args()
    sizes, runs = ([8, 40], 1) if args.quick else ([8, 200], 3)
    desk = (40, 50, 5) if args.quick else (200, 500, 20)
    with tempfile.TemporaryDirectory() as tmp:
        manual_times(Path(tmp), sizes, runs)
        ack_times(Path(tmp), *desk, runs=3 if args.quick else 5)


if __name__ == "__main__":
    main()
