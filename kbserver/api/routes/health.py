"""Health: is the service up, and which commit does it serve."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from kbserver import __version__
from kbserver.api.deps import ServicesDep
from kbserver.services import Services
from kbserver.store.database import schema_version

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


def _index_commit(services: Services) -> str | None:
    # While a corrupt index is rebuilt its marker may be unreadable, or its folder may vanish as the new
    # generation is swapped in: health says "not ready" instead of failing.
    try:
        return services.index.commit()
    except (OSError, ValueError) as exc:
        log.info("health: the search index is not readable now (%s)", exc)
        return None


def _schema_version(services: Services) -> int | None:
    try:
        return schema_version(services.engine)
    except SQLAlchemyError as exc:
        log.warning("health: the state store does not answer (%s)", exc)
        return None


@router.get("/api/health")
def health(services: ServicesDep) -> dict[str, Any]:
    """Liveness and the commit being served (no login needed)."""
    commit = services.main_commit()
    index = _index_commit(services)
    return {
        "status": "ok" if commit else "no_content",
        "version": __version__,
        "branch": services.settings.branch,
        "commit": commit,
        "site": {"commit": services.site.served_commit(), "ready": services.site.served_dir() is not None},
        "index": {"commit": index, "ready": index is not None},
        "schema_version": _schema_version(services),
    }
