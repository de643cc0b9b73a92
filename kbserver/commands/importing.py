"""`kb import markdown DIR`: third-party Markdown proposed as a change request, never committed to main."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kbserver.commands.actions import Result, Verbs, verb
from kbserver.commands.output import json_text
from kbserver.content import Corpus, Finding, lint_corpus, parse_document
from kbserver.content.checks import file_findings, former_ids
from kbserver.content.importer import ImportOptions, ImportPlan, first_free_number, plan_import, read_folder
from kbserver.errors import Conflict
from kbserver.services import Services

REVIEW_DAYS = 180  # as a new document from the template


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb import markdown`."""
    kinds = sub.add_parser("import", help="bring existing content in as a change request")
    p = verb(
        kinds.add_subparsers(dest="source_kind", required=True),
        "markdown",
        run,
        parents=[common],
        help="a folder of Markdown files, any front matter or none",
    )
    p.add_argument("dir", type=Path)
    p.add_argument("--as", dest="user", required=True, help="the user opening the change request")
    p.add_argument("--owner", help="owner of documents whose front matter names none (default: --as)")
    p.add_argument("--audience", action="extend", nargs="+", choices=["L1", "L2"], help="default: L1")
    p.add_argument("--review-by", type=date.fromisoformat, help=f"default: today + {REVIEW_DAYS} days")
    p.add_argument("--lang", choices=["es", "en"], default="es", help="where the front matter has none")
    p.add_argument("--category", help="category of the files at the folder's top (default: its name)")
    p.add_argument("--title", help="title of the change request")
    p.add_argument("--json", action="store_true")


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


def import_markdown(
    services: Services, folder: Path, user_name: str, options: ImportOptions, title: str
) -> ImportResult:
    """Plan the import against main, lint it, and open a change request with it when lint finds no error."""
    user = services.users.get(user_name)
    repo, flow = services.repository, services.workflow
    main = services.main_commit()
    if main is None:
        raise Conflict(f"the content repository has no branch {services.settings.branch}")
    sources = read_folder(folder)  # before anything is written: a refused link leaves nothing behind
    corpus = Corpus.from_files(repo.files(main))
    former = former_ids(repo, main)
    used = [*corpus.by_id(), *former]
    for head in repo.branches("change/").values():  # ids that open change requests have taken already
        used += [
            line.split(":", 1)[1].strip().strip("'\"") for line in repo.grep_first(head, "^id:").values()
        ]
    plan = plan_import(sources, options, repo.paths(main), first_free_number(used))
    result = ImportResult(plan, list(plan.findings) + _lint(corpus, plan, former))
    if result.errors or not plan.documents:
        return result
    change = flow.create(user, title)
    try:
        message = f"Import {len(plan.documents)} article(s) from {folder.name or folder}"
        change = flow.write(user, change.number, dict(plan.files), change.head_commit, message)
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


def options_from(args: argparse.Namespace) -> ImportOptions:
    """The defaults for front matter the source lacks, from the command line."""
    return ImportOptions(
        owner=args.owner or args.user,
        audience=sorted(set(args.audience or ["L1"])),
        review_by=args.review_by or date.today() + timedelta(days=REVIEW_DAYS),
        lang=args.lang,
        category=args.category or args.dir.resolve().name,
    )


def run(services: Services, args: argparse.Namespace) -> Result:
    """Run `kb import markdown`; returns (exit code, text to print)."""
    name = args.dir.resolve().name
    title = args.title or f"Import Markdown from {name}"[:200]
    result = import_markdown(services, args.dir, args.user, options_from(args), title)
    code = 1 if result.errors or result.change is None else 0
    if args.json:
        return code, json_text(result.as_json())
    lines = [f"{d.doc_id}  {d.path}  ({d.source}): {d.title}" for d in result.plan.documents]
    lines += [f"skipped {path}: {reason}" for path, reason in result.plan.skipped]
    lines += [str(f) for f in result.findings]
    errors, docs = len(result.errors), result.plan.documents
    ids = f" ({docs[0].doc_id} to {docs[-1].doc_id})" if docs else ""
    lines.append(
        f"{len(docs)} document(s){ids}, {len(result.plan.skipped)} file(s) skipped, "
        f"{errors} error(s), {len(result.findings) - errors} warning(s)"
    )
    if result.change is not None:
        lines.append(
            f"CR-{result.change} opened on branch {result.branch}: review and submit it "
            f"(`kb change submit {result.change} --as {args.user}`)"
        )
    elif errors:
        lines.append("no change request was opened: fix the errors and import again")
    else:
        lines.append("nothing to import: no Markdown file in the folder")
    return code, "\n".join(lines)
