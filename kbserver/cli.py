"""`kb`: parse arguments, call a command, translate domain errors to a message and an exit code."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from kbserver import __version__
from kbserver.errors import KBError
from kbserver.logs import configure_logging
from kbserver.settings import Settings

EXIT_FINDINGS = 1
EXIT_ERROR = 2


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key in ("repo", "data_dir", "database_url", "host", "port")
        if (value := getattr(args, key, None)) is not None
    }
    return Settings(**overrides)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kb", description="Knowledge base and procedures manual for IT desks."
    )
    parser.add_argument("--version", action="version", version=f"kb {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--repo", type=Path, help="content repository (KB_REPO)")
    common.add_argument("--data-dir", type=Path, help="index, site and local state (KB_DATA_DIR)")
    common.add_argument("--database-url", help="state store URL (KB_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="create a content repository seeded with content")
    p.add_argument("path", type=Path)
    p.add_argument(
        "--from", dest="source", type=Path, help="folder with docs/ (default: the starter content)"
    )

    p = sub.add_parser("serve", parents=[common], help="run the service")
    p.add_argument("--host", help="address to listen on (KB_HOST)")
    p.add_argument("--port", type=int, help="port to listen on (KB_PORT)")
    p.add_argument("--workers", type=int, default=1)

    p = sub.add_parser(
        "backup", parents=[common], help="write one archive of the content repository and the state store"
    )
    p.add_argument(
        "dest", type=Path, help="the archive to write, or a folder to write kb-backup-<time>.tar.gz in"
    )
    p = sub.add_parser("restore", parents=[common], help="recreate the repository and store from a backup")
    p.add_argument("archive", type=Path, help="an archive that `kb backup` wrote")

    p = sub.add_parser("lint", parents=[common], help="check content: schema, ids, links, scripts")
    p.add_argument("dir", nargs="?", type=Path, default=None, help="folder with docs/ (default: .)")
    p.add_argument("--ref", help="lint this branch or commit of --repo instead of a folder")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("build", parents=[common], help="build the site from a commit and serve it")
    p.add_argument("--ref", default=None, help="branch or commit (default: the approved branch)")

    p = sub.add_parser("index", parents=[common], help="catch the search index up to main (or rebuild it)")
    p.add_argument("--rebuild", action="store_true", help="rebuild from scratch instead of by git diff")

    p = sub.add_parser("search", parents=[common], help="search as an operator would")
    p.add_argument("query")
    p.add_argument("--kind", choices=["article", "script", "procedure"])
    p.add_argument("--lang", choices=["es", "en"])
    p.add_argument("--tag")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--json", action="store_true")

    from kbserver.commands import changes

    changes.add_parser(sub, common)

    from kbserver.commands import importing

    importing.add_parser(sub, common)

    from kbserver.commands import servicenow

    servicenow.add_parser(sub, common)

    from kbserver.commands import manual

    manual.add_parser(sub, common)

    from kbserver.commands.reports import ACK_REPORTS, REPORTS

    names = (*REPORTS, *ACK_REPORTS)
    p = sub.add_parser("report", parents=[common], help="reports: " + ", ".join(names))
    p.add_argument("name", choices=names)
    p.add_argument("--from", dest="since", type=datetime.fromisoformat, help="start (ISO date)")
    p.add_argument("--to", dest="until", type=datetime.fromisoformat, help="end, exclusive (ISO date)")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true")
    output.add_argument("--csv", action="store_true")

    user = sub.add_parser("user", help="users and roles").add_subparsers(dest="action", required=True)
    p = user.add_parser("add", parents=[common], help="create a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=["operator", "lead", "approver", "admin"])
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--display-name", default="")
    p.add_argument("--email", default="")
    p = user.add_parser("list", parents=[common], help="list users")
    p.add_argument("--json", action="store_true")
    p = user.add_parser("disable", parents=[common], help="disable a user, ending sessions and tokens")
    p.add_argument("name")
    p = user.add_parser("enable", parents=[common], help="let a disabled user log in again")
    p.add_argument("name")
    p = user.add_parser(
        "passwd", parents=[common], help="set a user's password from standard input; ends sessions and tokens"
    )
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", required=True)
    p = user.add_parser("token", parents=[common], help="print a new API token for a user")
    p.add_argument("name")
    p.add_argument("--label", default="")
    p = user.add_parser("tokens", parents=[common], help="list a user's API tokens (ids, never secrets)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p = user.add_parser("revoke", parents=[common], help="revoke one API token of a user, by its id")
    p.add_argument("name")
    p.add_argument("token_id", type=int, help="the id `kb user tokens NAME` shows")
    return parser


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise KBError("no password on standard input")
    return password


def _run(args: argparse.Namespace) -> int:
    from kbserver.commands import changes, importing, lint, manual, search, serve, users
    from kbserver.repository import ContentRepository
    from kbserver.services import Services

    if args.command == "init":
        from kbserver.resources import starter_content

        repo = ContentRepository.create(args.path, args.source or starter_content())
        commit = repo.resolve("main")
        count = sum(1 for p, _ in repo.files(commit) if p.endswith(".md"))
        print(f"Created content repository {args.path} ({count} Markdown files, commit {commit[:12]})")
        return 0
    settings = _settings(args)
    if args.command == "serve":
        return serve.serve(settings, args.workers)
    if args.command in ("backup", "restore"):
        from kbserver.commands import backup

        if args.command == "backup":
            archive, manifest = backup.backup(settings, args.dest)
            print(f"Backup written to {archive}\n{backup.summary(manifest)}")
        else:
            manifest = backup.restore(settings, args.archive)
            print(f"Restored {settings.repo} and the state store from {args.archive}")
            print(backup.summary(manifest))
            print("  The search index and the site are rebuilt from git when `kb serve` starts.")
        return 0
    if args.command == "lint":
        if args.ref or (args.dir is None and args.repo is not None):
            findings = lint.lint_commit(ContentRepository(settings.repo), args.ref or settings.branch)
        else:
            findings = lint.lint_directory(args.dir or Path("."))
        errors = sum(f.severity == "error" for f in findings)
        if args.json:
            _print_json({"errors": errors, "findings": [f.as_json() for f in findings]})
        else:
            for finding in findings:
                print(finding)
            print(f"{errors} error(s), {len(findings) - errors} warning(s)", file=sys.stderr)
        return EXIT_FINDINGS if errors else 0
    services = Services.open(settings)
    try:
        if args.command == "build":
            commit = services.repository.resolve(args.ref or settings.branch)
            print(f"Building the site for {commit[:12]} ...", flush=True)
            started = time.monotonic()
            folder = services.site.build(services.repository, commit)
            print(f"Site built in {time.monotonic() - started:.1f} s: {folder}")
            return 0
        if args.command == "servicenow":
            from kbserver.commands import servicenow

            code, text = servicenow.run(services, args)
            print(text)
            return code
        if args.command in ("change", "verify", "import", "manual"):
            run = {"import": importing.run, "manual": manual.run}.get(args.command, changes.run)
            code, text = run(services, args)
            print(text)
            return code
        if args.command == "report":
            from kbserver.commands.reports import render, report

            services.catch_up_index()
            print(render(report(services, args.name, args.since, args.until), args.json, args.csv))
            return 0
        if args.command == "index":
            done = search.index(services, args.rebuild)
            print(
                f"Index {done.action} at {done.commit[:12]}: {done.changed} file(s) in {done.seconds:.2f} s"
            )
            return 0
        if args.command == "search":
            services.catch_up_index()
            filters = {"kind": [args.kind or ""], "lang": [args.lang or ""], "tag": [args.tag or ""]}
            response = services.search.search(args.query, filters, args.limit)
            _print_json(response) if args.json else print(search.results_table(response))
            return 0
        store = services.users
        if args.action == "add":
            password = _read_password() if args.password_stdin else None
            created = store.add(args.name, args.role, password, args.display_name, args.email)
            print(f"Created user {created.name} ({created.role.value})")
        elif args.action == "list":
            found = store.list()
            _print_json([u.as_json() for u in found]) if args.json else print(users.user_table(found))
        elif args.action == "disable":
            store.disable(args.name)
            print(f"Disabled {args.name}; their sessions and tokens are revoked")
        elif args.action == "enable":
            store.enable(args.name)
            print(f"Enabled {args.name}")
        elif args.action == "passwd":
            store.set_password(args.name, _read_password())
            print(f"Password of {args.name} changed; their sessions and API tokens are ended")
        elif args.action == "token":
            token_id, token = store.new_token(args.name, args.label)
            print(token)  # alone on stdout, for scripts
            revoke = f"kb user revoke {args.name} {token_id}"
            print(f"API token {token_id} of {args.name}; `{revoke}` ends it", file=sys.stderr)
        elif args.action == "tokens":
            tokens = store.tokens(args.name)
            _print_json(tokens) if args.json else print(users.token_table(tokens))
        elif args.action == "revoke":
            store.revoke_token(args.name, args.token_id)
            print(f"API token {args.token_id} of {args.name} revoked")
        return 0
    finally:
        services.close()


def _logging(args: argparse.Namespace) -> tuple[str, str]:
    # The service logs at the settings' level; a one-shot command prints its result and stays quiet about
    # the rest (migrations, index updates) unless KB_LOG_LEVEL asks for it.
    settings = Settings()
    level = (
        settings.log_level
        if args.command == "serve" or "log_level" in settings.model_fields_set
        else "warning"
    )
    return level, settings.log_format


def main(argv: Sequence[str] | None = None) -> int:
    """Run `kb` with argv; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        configure_logging(*_logging(args))
        return _run(args)
    except KBError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.details:
            detail = (
                exc.details if isinstance(exc.details, str) else json.dumps(exc.details, ensure_ascii=False)
            )
            print(detail, file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def run() -> None:
    """Console entry point."""
    sys.exit(main())
