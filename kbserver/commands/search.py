"""`kb index` and `kb search`: the index from the CLI, with a progress bar, and searches as tables or JSON."""

from __future__ import annotations

import sys
from typing import Any

from kbserver.search import CatchUp
from kbserver.services import Services


def progress_bar(done: int, total: int) -> None:
    """Draw an index-build progress bar on stderr; in a log (no terminal), one line per quarter instead."""
    width = 30
    filled = width * done // max(total, 1)
    if sys.stderr.isatty():
        bar = f"[{'#' * filled}{'.' * (width - filled)}]"
        print(f"\r  indexing {bar} {done}/{total}", end="\n" if done >= total else "", file=sys.stderr)
    elif done == total or 4 * done // max(total, 1) > 4 * (done - 1) // max(total, 1):
        print(f"  indexing {done}/{total}", file=sys.stderr)


def index(services: Services, rebuild: bool) -> CatchUp:
    """Catch the index up to main by git diff, or rebuild it from scratch."""
    commit = services.main_commit()
    if commit is None:
        from kbserver.errors import RepositoryError

        raise RepositoryError(f"{services.settings.repo} has no branch {services.settings.branch}")
    show = progress_bar
    if rebuild:
        return services.index.rebuild(services.repository, commit, show)
    return services.index.catch_up(services.repository, commit, show)


def results_table(response: dict[str, Any]) -> str:
    """Search results as lines for people."""
    lines = [f"{response['total']} result(s) at {str(response['commit'])[:12]}"]
    if response["suggestion"]:
        lines.append(f"did you mean: {response['suggestion']}")
    for n, hit in enumerate(response["results"], start=1):
        where = hit["url"] + (f"#{hit['anchor']}" if hit["anchor"] else "")
        lines.append(f"{n:>2}. {hit['id']:<9} {hit['kind']:<9} {hit['lang']}  {hit['title']}  ({where})")
    return "\n".join(lines)
