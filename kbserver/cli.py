"""`kb`: parse arguments, call a command, translate domain errors to a message and an exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from kbserver import __version__
from kbserver.commands import (
    backup,
    changes,
    importing,
    lint,
    manual,
    publishing,
    reports,
    search,
    serve,
    servicenow,
    users,
)
from kbserver.commands.actions import run as run_action
from kbserver.errors import KBError
from kbserver.logs import configure_logging
from kbserver.settings import Settings

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
    # Each module registers its verbs, each with the function that runs it (kbserver/commands/actions.py).
    modules = (
        serve,
        backup,
        lint,
        search,
        changes,
        publishing,
        importing,
        servicenow,
        manual,
        reports,
        users,
    )
    for command in modules:
        command.add_parser(sub, common)
    return parser


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
        code, text = run_action(args, _settings(args))
        if text:
            print(text)
        return code
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
