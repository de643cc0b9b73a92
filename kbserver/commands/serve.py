"""`kb init` and `kb serve`: create the content repository; check git and the repository, migrate the store,
say how to log in and run uvicorn. `kb build`: the site of a commit, now."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from kbserver.commands.actions import Result, Verbs, settings_verb, verb
from kbserver.commands.users import INITIAL_PASSWORD_FILE, ensure_first_admin
from kbserver.errors import RepositoryError
from kbserver.metrics import share_between_processes
from kbserver.repository import ContentRepository
from kbserver.repository.gitversion import require_git
from kbserver.resources import starter_content
from kbserver.services import Services
from kbserver.settings import Settings
from kbserver.workers import HTTP, LOOP, check_port_free, reuse_port_spreads


def add_parser(sub: Verbs[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register `kb init`, `kb serve` and `kb build`."""
    p = settings_verb(sub, "init", init, help="create a content repository seeded with content")
    p.add_argument("path", type=Path)
    p.add_argument(
        "--from", dest="source", type=Path, help="folder with docs/ (default: the starter content)"
    )
    p.add_argument(
        "--upstream",
        metavar="URL",
        help="clone this git repository, the content's home for several replicas (an empty one is seeded); "
        "credentials from KB_UPSTREAM_USER, KB_UPSTREAM_PASSWORD(_FILE), KB_UPSTREAM_SSH_KEY",
    )
    p = settings_verb(sub, "serve", _serve, parents=[common], help="run the service")
    p.add_argument("--host", help="address to listen on (KB_HOST)")
    p.add_argument("--port", type=int, help="port to listen on (KB_PORT)")
    p.add_argument("--workers", type=int, default=1)
    p = verb(sub, "build", build, parents=[common], help="build the site from a commit and serve it")
    p.add_argument("--ref", default=None, help="branch or commit (default: the approved branch)")


def init(settings: Settings, args: argparse.Namespace) -> Result:
    """`kb init PATH`: a new content repository at PATH, seeded with the starter content or --from's, or a
    clone of --upstream (seeded so when it is empty)."""
    require_git()
    source = args.source or starter_content()
    if args.upstream:
        repo = ContentRepository.clone(args.upstream, args.path, settings.upstream_credentials(), source)
    else:
        repo = ContentRepository.create(args.path, source)
    commit = repo.resolve("main")
    count = sum(1 for p, _ in repo.files(commit) if p.endswith(".md"))
    return 0, f"Created content repository {args.path} ({count} Markdown files, commit {commit[:12]})"


def _serve(settings: Settings, args: argparse.Namespace) -> Result:
    return serve(settings, args.workers), ""


def build(services: Services, args: argparse.Namespace) -> Result:
    """`kb build`: build the site of a commit (main by default) and serve it."""
    commit = services.repository.resolve(args.ref or services.settings.branch)
    print(f"Building the site for {commit[:12]} ...", flush=True)
    started = time.monotonic()
    folder = services.site.build(services.repository, commit)
    return 0, f"Site built in {time.monotonic() - started:.1f} s: {folder}"


def export_settings(settings: Settings) -> None:
    """Put the settings into KB_* variables so that every worker process builds the same object."""
    for name, value in settings.model_dump().items():
        if hasattr(value, "resolve"):
            value = value.resolve()
        if isinstance(value, SecretStr):
            value = value.get_secret_value()  # the workers need the secret itself, not its mask
        os.environ[f"KB_{name.upper()}"] = str(value)


def serve(settings: Settings, workers: int = 1) -> int:
    """Run the service until interrupted."""
    require_git()
    services = Services.open(settings)
    try:
        commit = services.main_commit()
        if commit is None:
            raise RepositoryError(
                f"{settings.repo} has no branch {settings.branch}; create it with `kb init {settings.repo}`"
            )
        password = ensure_first_admin(services.users, settings.data_dir)
    finally:
        services.close()
    url = f"http://{settings.host}:{settings.port}/"
    print(f"Knowledge base: {url}  (commit {commit[:12]} of {settings.branch})")
    if password:
        print(f"  First start: user 'admin', password '{password}'")
        print(f"  (saved in {settings.data_dir / INITIAL_PASSWORD_FILE}; change it with")
        print("   `kb user passwd admin --password-stdin` and delete that file)")
    else:
        print(f"  Log in at {url}app/login")
    print("  More users: kb user add NAME --role operator|lead|approver|admin --password-stdin")
    print("  Ctrl+C to stop.", flush=True)
    export_settings(settings)
    share_between_processes(settings.data_dir / "metrics")  # every worker adds to, and reads, the same files
    if workers > 1 and reuse_port_spreads():
        check_port_free(settings.host, settings.port)  # said here, before the process is replaced
        supervisor = [
            sys.executable,
            "-m",
            "kbserver.workers",
            str(workers),
            settings.host,
            str(settings.port),
        ]
        os.execv(sys.executable, supervisor)
    uvicorn.run(
        "kbserver.api.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        http=HTTP,
        loop=LOOP,
        log_level=settings.log_level,
        log_config=None,  # kbserver.logs configured this process, and the app factory configures each worker
    )
    return 0
