"""Imported files proposed as one change request: checked against main with fresh ids, never committed to it.

Shared by `kb import markdown|servicenow` and a knowledge gap proposed as a new article
(kbserver/servicenow/proposals.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from kbserver.content import Corpus, Finding, lint_corpus, parse_document
from kbserver.content.checks import file_findings, former_ids
from kbserver.content.importer import ImportOptions, ImportPlan, first_free_number, plan_import
from kbserver.errors import Conflict

if TYPE_CHECKING:
    from kbserver.services import Services

REVIEW_DAYS = 180  # as a new document from the template


@dataclass
class ImportResult:
    plan: ImportPlan
    findings: list[Finding]
    change: int | None = None
    branch: str = ""

    @property
    def errors(self) -> list[Finding]:
        """The findings that stop the import."""
        return [f for f in self.findings if f.severity == "error"]

    def as_json(self) -> dict[str, Any]:
        """The result for `--json`."""
        return {
            "change_request": self.change,
            "branch": self.branch,
            "documents": [asdict(d) for d in self.plan.documents],
            "files": len(self.plan.files),
            "skipped": [{"path": p, "reason": r} for p, r in self.plan.skipped],
            "errors": len(self.errors),
            "findings": [f.as_json() for f in self.findings],
        }


def check_import(
    services: Services, sources: list[tuple[str, bytes]], options: ImportOptions
) -> ImportResult:
    """The files that importing sources would add to main, with fresh ids, and what lint says of them."""
    repo = services.repository
    main = services.main_commit()
    if main is None:
        raise Conflict(f"the content repository has no branch {services.settings.branch}")
    corpus = Corpus.from_files(repo.files(main))
    former = former_ids(repo, main)
    used = [*corpus.by_id(), *former]
    for head in repo.branches("change/").values():  # ids that open change requests have taken already
        used += [
            line.split(":", 1)[1].strip().strip("'\"") for line in repo.grep_first(head, "^id:").values()
        ]
    plan = plan_import(sources, options, repo.paths(main), first_free_number(used))
    return ImportResult(plan, list(plan.findings) + _lint(corpus, plan, former))


def open_change(
    services: Services, result: ImportResult, user_name: str, title: str, message: str
) -> ImportResult:
    """Open one change request holding every file of a checked import (never a commit to main)."""
    user = services.users.get(user_name)
    flow = services.workflow
    change = flow.create(user, title)
    try:
        change = flow.write(user, change.number, dict(result.plan.files), change.head_commit, message)
    except BaseException:
        flow.withdraw(user, change.number)  # no empty change request left behind
        raise
    result.change, result.branch = change.number, change.branch
    return result


def _lint(corpus: Corpus, plan: ImportPlan, former: dict[str, str]) -> list[Finding]:
    """The findings lint would report on the imported files, read together with main's content."""
    for path, content in plan.files.items():
        corpus.files.add(path)
        if path.endswith(".md"):
            corpus.documents[path] = parse_document(path, content)
    findings = lint_corpus(corpus, date.today(), former)
    return [f for f in findings if f.path in plan.files] + file_findings(plan.files, [], None)
