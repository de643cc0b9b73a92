"""`kb serve`: check the repository, migrate the store, say how to log in, run uvicorn."""

from __future__ import annotations

import os

import uvicorn
from pydantic import SecretStr

from kbserver.commands.users import INITIAL_PASSWORD_FILE, ensure_first_admin
from kbserver.errors import RepositoryError
from kbserver.metrics import share_between_processes
from kbserver.services import Services
from kbserver.settings import Settings
from kbserver.workers import reuse_port_spreads, run_workers


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
        return run_workers(workers, settings.host, settings.port, settings.log_level)
    uvicorn.run(
        "kbserver.api.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level,
        log_config=None,  # kbserver.logs configured this process, and the app factory configures each worker
    )
    return 0
