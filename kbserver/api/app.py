"""The app factory: composes settings, services and routers; implements nothing itself."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kbserver import __version__
from kbserver.api.compression import CompressSite
from kbserver.api.errors import install_error_handlers
from kbserver.api.headers import SecurityHeaders
from kbserver.api.routes import (
    api_docs,
    changes,
    console,
    console_changes,
    console_desk,
    console_editor,
    content,
    documents,
    feedback,
    flags,
    health,
    reports,
    search,
    session,
    site,
    users,
)
from kbserver.logs import configure_logging
from kbserver.services import Services
from kbserver.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "console" / "static"


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
        app.state.services.catch_up()
        yield
        if services is None:
            app.state.services.close()

    app = FastAPI(
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
    app.mount("/app/static", StaticFiles(directory=STATIC), name="console-static")
    for module in (
        api_docs,
        health,
        session,
        users,
        search,
        documents,
        changes,
        feedback,
        flags,
        reports,
        content,
        console,
        console_changes,
        console_editor,
        console_desk,
    ):
        app.include_router(module.router)
    app.include_router(site.router)  # last: it answers every other path
    return app


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` with several workers: settings from KB_* variables; a worker process
    starts with no logging configured, so this configures it as `kb serve` configured itself."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
