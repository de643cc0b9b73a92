"""The app factory: composes settings, services and routers; implements nothing itself."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from kbserver import __version__
from kbserver.api.compression import CompressSite
from kbserver.api.errors import install_error_handlers
from kbserver.api.headers import SecurityHeaders
from kbserver.api.observe import RequestId, RequestMetrics
from kbserver.api.routes import (
    acks,
    api_docs,
    changes,
    console,
    console_acks,
    console_changes,
    console_desk,
    console_editor,
    console_manual,
    console_publishing,
    content,
    documents,
    feedback,
    flags,
    health,
    manual,
    metrics,
    publishing,
    reports,
    search,
    servicenow,
    session,
    site,
    users,
)
from kbserver.logs import configure_logging
from kbserver.resources import console_static
from kbserver.services import Services
from kbserver.settings import Settings

log = logging.getLogger(__name__)


class _Observed(FastAPI):
    """FastAPI with the request id and the request metrics outside every other layer, its error layer
    included, so that a request that ends in a 500 is counted and its answer carries its id."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestId(RequestMetrics(super().build_middleware_stack()))


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the service for settings (tests pass their own, for a temporary directory)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services or Services.open(settings)
        recovered = app.state.services.workflow.reconcile()  # a merge killed half-way: git is the truth
        for number in recovered:
            merged = app.state.services.workflow.records.get(number).merged_commit or ""
            app.state.services.after_merge(number, merged)
        if recovered:
            log.warning("change requests %s were merged on main before a crash; marked merged", recovered)
        app.state.services.start_background()
        app.state.services.readiness.start()
        yield
        app.state.services.readiness.stop()
        if services is None:
            app.state.services.close()

    app = _Observed(
        title="KB: knowledge base for IT support desks",
        version=__version__,
        docs_url=None,  # served by routes/api_docs.py: from this service, to readers only
        openapi_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    install_error_handlers(app)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(CompressSite)
    app.mount("/app/static", StaticFiles(directory=console_static()), name="console-static")
    for module in (
        api_docs,
        health,
        metrics,
        session,
        users,
        search,
        documents,
        changes,
        feedback,
        flags,
        reports,
        servicenow,
        content,
        console,
        console_changes,
        console_editor,
        console_desk,
        manual,
        console_manual,
        publishing,
        console_publishing,
        acks,
        console_acks,
    ):
        app.include_router(module.router)
    app.include_router(site.router)  # last: it answers every other path
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` with several workers: settings from KB_* variables; a worker process
    starts with no logging configured, so this configures it as `kb serve` configured itself."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
