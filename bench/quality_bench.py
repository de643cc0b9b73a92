"""Search quality on the shared dev set: the product in process against plain Whoosh and FTS5, per query type.

The dev set (`../shared/eval/`, see its README) is the help manuals of 15 desktop applications in English and
Spanish with three kinds of known-item queries. This script exports it, indexes it with the product's own
index code, sends every query to `SearchService.search` with and without the language filter, and prints
MRR@10, S@1 and S@5 per query type beside the `whoosh-fuzzy` ("plain Whoosh") and `fts5` baselines that
`devset.py` builds on the same pages.

    .venv/bin/python bench/quality_bench.py [--lang en,es] [--json DIR] [--devset PATH] [--work DIR]

It needs the Debian packages of the manuals (`devset.py obtain` downloads them with apt-get, 21 MB); without
them, or without the dev set beside the project, it says so and exits 0, so that `make bench` still runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEVSET = Path(os.environ.get("KB_DEVSET", ROOT.parent / "shared" / "eval" / "devset.py"))
K = 10


def load_devset(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("devset", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["devset"] = module
    spec.loader.exec_module(module)
    return module


class ProductEngine:
    """The product's index and search service, in process, over an export of the dev set."""

    def __init__(self, content: Path, work: Path, mapping: dict[str, str]) -> None:
        from kbserver.repository import ContentRepository
        from kbserver.search import SearchIndex, SearchService

        repo = ContentRepository.create(work / "repo", content)
        index = SearchIndex(work / "index")
        started = time.perf_counter()
        index.rebuild(repo, repo.head("main"))
        self.build_s = time.perf_counter() - started
        self.service = SearchService(index)
        self.mapping = mapping

    def search(self, query: str, lang: str | None) -> list[str]:
        filters = {"lang": [lang]} if lang else None
        # As the API gets it: the last word may also be read as unfinished, as while typing.
        hits = self.service.search(query, filters, limit=K)["results"]
        pages: list[str] = []
        for hit in hits:
            page = self.mapping.get(hit["id"])
            if page and page not in pages:
                pages.append(page)
        return pages


def evaluate(
    devset: ModuleType, content: Path, work: Path, lang: str, baselines: list[str]
) -> dict[str, Any]:
    queries, mapping = devset.load_export(str(content))
    types = list(devset.QUERY_TYPES)
    ranks: dict[str, dict[str, int | None]] = {q["qid"]: {} for q in queries}
    timing: dict[str, float] = {}

    def run(name: str, search: Any) -> None:
        started = time.perf_counter()
        for q in queries:
            ranked = search(q["query"])
            ranks[q["qid"]][name] = ranked.index(q["target"]) + 1 if q["target"] in ranked[:K] else None
        timing[name] = 1000 * (time.perf_counter() - started) / len(queries)

    product = ProductEngine(content, work, mapping)
    run(f"product lang={lang}", lambda text: product.search(text, lang))
    run("product, no lang", lambda text: product.search(text, None))
    product.service.close()
    docs = [dict(d, id=mapping[d["id"]]) for d in devset.read_content(str(content))]
    for name in baselines:
        engine = (
            devset.WhooshEngine(name, lang) if name.startswith("whoosh") else devset.FTS5Engine(name, lang)
        )
        engine.build(docs)
        run(name, lambda text, engine=engine: engine.search(text, K))
        engine.close()
    table = {}
    for name in timing:
        table[name] = {
            t: devset.retrieval_metrics(
                [ranks[q["qid"]][name] for q in queries if t in ("all", q["type"])], K
            )
            for t in [*types, "all"]
        }
    return {
        "lang": lang,
        "types": types,
        "table": table,
        "query_ms": timing,
        "build_s": product.build_s,
        "per_query": [dict(q, ranks=ranks[q["qid"]]) for q in queries],
    }


def report(result: dict[str, Any]) -> None:
    types, table = result["types"], result["table"]
    lang = result["lang"]
    print(f"\n{lang}: MRR@10 / S@1 / S@5 in % (product index build {result['build_s']:.1f} s)")
    print(f"  {'engine':<20}" + "".join(f"{t:>21}" for t in [*types, "all"]) + f"{'ms/query':>10}")
    for name, row in table.items():
        cells = "".join(
            f"{row[t]['MRR@10']:7.1f}/{row[t]['S@1']:5.1f}/{row[t]['S@5']:5.1f}  " for t in [*types, "all"]
        )
        print(f"  {name:<20}{cells}{result['query_ms'][name]:8.1f}")
    base = table.get("whoosh-fuzzy")
    if base:
        for name in (f"product lang={lang}", "product, no lang"):
            deltas = ", ".join(f"{t} {table[name][t]['MRR@10'] - base[t]['MRR@10']:+.1f}" for t in types)
            total = table[name]["all"]["MRR@10"] - base["all"]["MRR@10"]
            print(f"  {name} - whoosh-fuzzy: all {total:+.1f} ({deltas})")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lang", default="en,es")
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("--work", type=Path, help="keep the exports here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="write per-query ranks to DIR/quality-<lang>.json")
    parser.add_argument("--baselines", default="whoosh-fuzzy,fts5")
    args = parser.parse_args()
    print("== search quality on the dev set (in process, k=10)")
    if not args.devset.is_file():
        print(f"skipped: no dev set at {args.devset} (set KB_DEVSET)")
        return 0
    devset = load_devset(args.devset)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        data = Path(os.environ.get("KB_DEVSET_DATA", Path(tempfile.gettempdir()) / "kb-devset"))
        if not (data / "packages.json").is_file():
            got = subprocess.run(
                [sys.executable, str(args.devset), "obtain", "--dest", str(data)],
                capture_output=True,
                text=True,
            )
            if got.returncode:
                print(f"skipped: the dev set's packages could not be obtained: {got.stderr.strip()[-300:]}")
                return 0
        for lang in args.lang.split(","):
            content = work / f"devset-{lang}"
            if not (content / "_queries.jsonl").is_file():
                subprocess.run(
                    [
                        sys.executable,
                        str(args.devset),
                        "export",
                        "--lang",
                        lang,
                        "--out",
                        str(content),
                        "--data",
                        str(data),
                        "--project",
                        str(ROOT),
                    ],
                    check=True,
                    capture_output=True,
                )
            with tempfile.TemporaryDirectory() as engine_work:
                baselines = [b for b in args.baselines.split(",") if b]
                result = evaluate(devset, content, Path(engine_work), lang, baselines)
            report(result)
            if args.json:
                args.json.mkdir(parents=True, exist_ok=True)
                (args.json / f"quality-{lang}.json").write_text(
                    json.dumps(result, ensure_ascii=False, indent=1)
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
