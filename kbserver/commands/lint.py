"""`kb lint`: check a folder, or a branch or commit of the content repository."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kbserver.commands.actions import Result, Verbs, settings_verb
from kbserver.commands.output import json_text
from kbserver.content.checks import lint_commit, lint_directory
from kbserver.repository import ContentRepository
from kbserver.settings import Settings

EXIT_FINDINGS = 1


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb lint`."""
    p = settings_verb(sub, "lint", lint, parents=[common], help="check content: schema, ids, links, scripts")
    p.add_argument("dir", nargs="?", type=Path, default=None, help="folder with docs/ (default: .)")
    p.add_argument("--ref", help="lint this branch or commit of --repo instead of a folder")
    p.add_argument("--json", action="store_true")


def lint(settings: Settings, args: argparse.Namespace) -> Result:
    """The findings, one a line (with a count on standard error) or as JSON; exit 1 on any error."""
    if args.ref or (args.dir is None and args.repo is not None):
        findings = lint_commit(ContentRepository(settings.repo), args.ref or settings.branch)
    else:
        findings = lint_directory(args.dir or Path("."))
    errors = sum(f.severity == "error" for f in findings)
    code = EXIT_FINDINGS if errors else 0
    if args.json:
        return code, json_text({"errors": errors, "findings": [f.as_json() for f in findings]})
    print(f"{errors} error(s), {len(findings) - errors} warning(s)", file=sys.stderr)
    return code, "\n".join(str(f) for f in findings)
