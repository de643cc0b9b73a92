"""/metrics: the service's metrics in the Prometheus text format, for the metrics token or an admin."""

from __future__ import annotations

import asyncio
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kbserver.api.contract import errors
from kbserver.api.deps import ServicesDep, optional_user
from kbserver.errors import Forbidden, NotAuthenticated
from kbserver.metrics import CONTENT_TYPE
from kbserver.services import Services
from kbserver.users import Role

router = APIRouter(tags=["health"])
WHO = (
    "the metrics token (KB_METRICS_TOKEN) as 'Authorization: Bearer <token>', "
    "or an admin's login or API token"
)


def _is_metrics_token(request: Request, token: str) -> bool:
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    # Compared as bytes in constant time: the token is a secret, and compare_digest refuses non-ASCII str.
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and secrets.compare_digest(sent.strip().encode(), token.encode())
    )


async def _check_access(request: Request, services: Services) -> None:
    if _is_metrics_token(request, services.settings.metrics_token):
        return
    try:
        user = await optional_user(request, services)
    except NotAuthenticated:
        raise NotAuthenticated(f"/metrics needs {WHO}") from None
    if user is None:
        raise NotAuthenticated(f"/metrics needs {WHO}")
    if not user.has_role(Role.ADMIN):
        raise Forbidden(f"/metrics needs {WHO}; you are {user.role.value}")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {}}, "description": "every series, in the Prometheus text format"},
        **errors(401, 403),
    },
)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus metrics (the sum over every worker of `kb serve`): requests and latency by route, search
    latency and result counts, the index's lag behind main, site builds, votes, flags and the state store's
    write waits. Needs KB_METRICS_TOKEN as a bearer token, or an admin."""
    await _check_access(request, services)
    body = await asyncio.to_thread(services.metrics.exposition)  # reads every worker's file
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
