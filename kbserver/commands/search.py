"""`kb index` and `kb search`: the index from the CLI, with a progress bar, and searches as tables or JSON."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kbserver.commands.actions import Result, Verbs, verb
from kbserver.commands.output import json_text, table
from kbserver.errors import RepositoryError
from kbserver.services import Services


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb index` and `kb search`."""
    p = verb(sub, "index", index, parents=[common], help="catch the search index up to main (or rebuild it)")
    p.add_argument("--rebuild", action="store_true", help="rebuild from scratch instead of by git diff")
    p = verb(sub, "search", search, parents=[common], help="search as an operator would")
    p.add_argument("query")
    p.add_argument("--kind", choices=["article", "script", "procedure"])
    p.add_argument("--lang", choices=["es", "en"])
    p.add_argument("--tag")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")


def progress_bar(done: int, total: int) -> None:
    """Draw an index-build progress bar on stderr; in a log (no terminal), one line per quarter instead."""
    width = 30
    filled = width * done // max(total, 1)
    if sys.stderr.isatty():
        bar = f"[{'#' * filled}{'.' * (width - filled)}]"
        print(f"\r  indexing {bar} {done}/{total}", end="\n" if done >= total else "", file=sys.stderr)
    elif done == total or 4 * done // max(total, 1) > 4 * (done - 1) // max(total, 1):
        print(f"  indexing {done}/{total}", file=sys.stderr)


def index(services: Services, args: argparse.Namespace) -> Result:
    """`kb index`: catch the index up to main by git diff, or rebuild it from scratch."""
    commit = services.main_commit()
    if commit is None:
        raise RepositoryError(f"{services.settings.repo} has no branch {services.settings.branch}")
    update = services.index.rebuild if args.rebuild else services.index.catch_up
    done = update(services.repository, commit, progress_bar)
    return 0, f"Index {done.action} at {done.commit[:12]}: {done.changed} file(s) in {done.seconds:.2f} s"


def search(services: Services, args: argparse.Namespace) -> Result:
    """`kb search`: the results as a table, or JSON."""
    services.catch_up_index()
    filters = {"kind": [args.kind or ""], "lang": [args.lang or ""], "tag": [args.tag or ""]}
    response = services.search.search(args.query, filters, args.limit)
    return 0, json_text(response) if args.json else results_table(response)


def results_table(response: dict[str, Any]) -> str:
    """Search results as lines for people."""
    lines = [f"{response['total']} result(s) at {str(response['commit'])[:12]}"]
    if response["suggestion"]:
        lines.append(f"did you mean: {response['suggestion']}")
    rows = [
        (
            n,
            hit["id"],
            hit["kind"],
            hit["lang"],
            hit["title"],
            hit["url"] + (f"#{hit['anchor']}" if hit["anchor"] else ""),
        )
        for n, hit in enumerate(response["results"], start=1)
    ]
    if rows:
        lines.append(table(("#", "id", "kind", "lang", "title", "url"), rows))
    return "\n".join(lines)
