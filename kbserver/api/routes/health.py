"""Health: is the service up, and which commit does it serve."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kbserver import __version__
from kbserver.api.deps import ServicesDep
from kbserver.store.database import schema_version

router = APIRouter(tags=["health"])


@router.get("/api/health")
def health(services: ServicesDep) -> dict[str, Any]:
    """Liveness and the commit being served (no login needed)."""
    commit = services.main_commit()
    return {
        "status": "ok" if commit else "no_content",
        "version": __version__,
        "branch": services.settings.branch,
        "commit": commit,
        "site": {"commit": services.site.served_commit(), "ready": services.site.served_dir() is not None},
        "index": {"commit": services.index.commit()},
        "schema_version": schema_version(services.engine),
    }
