"""Health: is the process up (liveness), can it answer operators (readiness), and which commit it serves."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from kbserver import __version__, readiness
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
    index = readiness.index_commit(services.index)
    return {
        "status": "ok" if commit else "no_content",
        "version": __version__,
        "branch": services.settings.branch,
        "commit": commit,
        "site": {"commit": services.site.served_commit(), "ready": services.site.served_dir() is not None},
        "index": {"commit": index, "ready": index is not None},
        "schema_version": _schema_version(services),
    }


def _answer(found: readiness.Readiness) -> JSONResponse:
    failed = found.not_ready
    body = Readiness(
        status="not_ready" if failed else "ready",
        not_ready=failed,
        checks={name: Check(ready=c.ready, detail=c.detail) for name, c in found.checks.items()},
    )
    return JSONResponse(
        body.model_dump(), status_code=503 if failed else 200, headers={"Cache-Control": "no-store"}
    )


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"model": Readiness, "description": "not ready: `not_ready` names the parts missing"}
}


@router.get("/api/health/ready", response_model=Readiness, responses=_NOT_READY)
def ready(services: ServicesDep) -> JSONResponse:
    """Readiness checked now (no login needed): 200 when the state store answers, the index is at main and a
    site is served; 503 naming what is not ready otherwise. /readyz gives the same answer from memory."""
    return _answer(services.readiness.refresh())


@router.get("/readyz", response_model=Readiness, responses=_NOT_READY)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Readiness for a load balancer (no login needed), as last checked in the background (every
    KB_HEALTH_INTERVAL seconds, and after each index update and site build): it touches neither git nor
    the store. 503 naming what is missing (`state_store`, `index`, `site`) until the service can answer
    operators."""
    return _answer(services.readiness.latest())


class Alive(BaseModel):
    """The liveness answer."""

    status: str = Field(description="always `alive`")


@router.get("/livez", response_model=Alive)
async def livez() -> JSONResponse:
    """Liveness (no login needed): 200 while the process answers at all; it checks nothing else."""
    return JSONResponse({"status": "alive"}, headers={"Cache-Control": "no-store"})
