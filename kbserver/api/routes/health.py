"""Health: is the process up (liveness), can it answer operators (readiness), and which commit it serves."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from kbserver import __version__
from kbserver.api.deps import ServicesDep
from kbserver.api.models.people import HealthOut
from kbserver.services import Services
from kbserver.store.database import schema_version

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


class Check(BaseModel):
    """One part the service needs before it can answer operators."""

    ready: bool
    detail: str = Field(description="what was found, or why the part is not ready")


class Readiness(BaseModel):
    """The readiness answer: ready only when every check is."""

    status: str = Field(description="`ready`, or `not_ready` (with the 503)")
    not_ready: list[str] = Field(description="the checks that failed, e.g. `index`, `site`, `state_store`")
    checks: dict[str, Check]


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


@router.get("/api/health", response_model=HealthOut)
def health(services: ServicesDep) -> dict[str, Any]:
    """Liveness and the commit being served (no login needed); 200 while the process serves."""
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


def _checks(services: Services) -> dict[str, Check]:
    main = services.main_commit()
    index = _index_commit(services)
    if main is None:
        index_check = Check(ready=False, detail=f"branch {services.settings.branch} does not exist")
    elif index != main:
        # Searching an index behind main would hide what was just approved: not ready until it catches up.
        index_check = Check(ready=False, detail=f"index at {(index or 'nothing')[:12]}, main at {main[:12]}")
    else:
        index_check = Check(ready=True, detail=f"index at {main[:12]}")
    served = services.site.served_commit()
    site_check = (
        Check(ready=True, detail=f"site of {(served or 'unknown commit')[:12]} served")
        if services.site.served_dir() is not None
        else Check(ready=False, detail="no site built yet")
    )
    version = _schema_version(services)
    store_check = (
        Check(ready=True, detail=f"schema version {version}")
        if version is not None
        else Check(ready=False, detail="the state store does not answer")
    )
    return {"state_store": store_check, "index": index_check, "site": site_check}


@router.get(
    "/api/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "not ready: `not_ready` names the parts missing"}},
)
def ready(services: ServicesDep) -> JSONResponse:
    """Readiness for a load balancer (no login needed): 200 when the state store answers, the index is at main
    and a site is served; 503 naming what is not ready otherwise."""
    checks = _checks(services)
    failed = [name for name, check in checks.items() if not check.ready]
    body = Readiness(status="not_ready" if failed else "ready", not_ready=failed, checks=checks)
    return JSONResponse(
        body.model_dump(), status_code=503 if failed else 200, headers={"Cache-Control": "no-store"}
    )
