"""`kb import markdown DIR` and `kb import servicenow FILE`: third-party content proposed as a change request,
never committed to main (kbserver/content/opening.py)."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

from kbserver.commands.actions import Result, Verbs, verb
from kbserver.commands.output import json_text
from kbserver.content.importer import ImportOptions, read_folder
from kbserver.content.opening import REVIEW_DAYS, ImportResult, check_import, open_change
from kbserver.services import Services

SERVICENOW_CATEGORY = "servicenow"


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb import markdown` and `kb import servicenow`."""
    kinds = sub.add_parser("import", help="bring existing content in as a change request")
    sources = kinds.add_subparsers(dest="source_kind", required=True)
    p = verb(
        sources,
        "markdown",
        run,
        parents=[common],
        help="a folder of Markdown files, any front matter or none",
    )
    p.add_argument("dir", type=Path)
    _defaults(p, "category of the files at the folder's top (default: its name)")
    p = verb(
        sources,
        "servicenow",
        run_servicenow,
        parents=[common],
        help="a ServiceNow kb_knowledge export (list export, XML or JSON)",
    )
    p.add_argument("file", type=Path)
    _defaults(p, f"folder of the articles without a category (default: {SERVICENOW_CATEGORY})")
    p.add_argument(
        "--instance",
        help="the instance the export came from, for its relative links (default: KB_SERVICENOW_URL)",
    )


def _defaults(p: argparse.ArgumentParser, category: str) -> None:
    p.add_argument("--as", dest="user", required=True, help="the user opening the change request")
    p.add_argument("--owner", help="owner of documents whose source names none (default: --as)")
    p.add_argument("--audience", action="extend", nargs="+", choices=["L1", "L2"], help="default: L1")
    p.add_argument("--review-by", type=date.fromisoformat, help=f"default: today + {REVIEW_DAYS} days")
    p.add_argument("--lang", choices=["es", "en"], default="es", help="where the source names none")
    p.add_argument("--category", help=category)
    p.add_argument("--title", help="title of the change request")
    p.add_argument("--json", action="store_true")


def import_markdown(
    services: Services, folder: Path, user_name: str, options: ImportOptions, title: str
) -> ImportResult:
    """Plan the import against main, lint it, and open a change request with it when lint finds no error."""
    services.users.get(user_name)  # an unknown user is refused before anything is read
    sources = read_folder(folder)  # before anything is written: a refused link leaves nothing behind
    result = check_import(services, sources, options)
    if result.errors or not result.plan.documents:
        return result
    message = f"Import {len(result.plan.documents)} article(s) from {folder.name or folder}"
    return open_change(services, result, user_name, title, message)


def options_from(args: argparse.Namespace) -> ImportOptions:
    """The defaults for front matter the source lacks, from the command line."""
    return ImportOptions(
        owner=args.owner or args.user,
        audience=sorted(set(args.audience or ["L1"])),
        review_by=args.review_by or date.today() + timedelta(days=REVIEW_DAYS),
        lang=args.lang,
        category=args.category
        or (args.dir.resolve().name if args.source_kind == "markdown" else SERVICENOW_CATEGORY),
    )


def run_servicenow(services: Services, args: argparse.Namespace) -> Result:
    """Run `kb import servicenow`; returns (exit code, text to print)."""
    from kbserver.commands.import_servicenow import run_import

    return run_import(services, args, options_from(args))


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
