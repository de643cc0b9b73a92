"""Every error leaves the HTTP edge in one shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from git.exc import GitError
from pydantic import BaseModel, Field
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kbserver.errors import InvalidInput, KBError, NotAuthenticated, storage_full

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated", 403: "forbidden"}


class ErrorInfo(BaseModel):
    """What went wrong."""

    code: str = Field(
        description="machine-readable: invalid_input, not_authenticated, forbidden, not_found, ..."
    )
    message: str = Field(description="for people: names the problem")
    details: Any = Field(None, description="more about it; for invalid_input, each field and its message")


class ErrorBody(BaseModel):
    """The shape of every error answer."""

    error: ErrorInfo


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of an error response."""
    return {"error": {"code": code, "message": message, "details": details}}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    page = not path.startswith("/api/") or path.startswith("/api/docs")  # the API's own page is a page
    return page and "text/html" in request.headers.get("accept", "")


def _storage(request: Request) -> list[Path]:
    # Where the service writes: a failed write there, with no room left, is a full disk.
    settings = request.app.state.services.settings
    places = [settings.repo, settings.data_dir]
    database = make_url(settings.resolved_database_url)
    if database.get_backend_name() == "sqlite" and database.database not in (None, "", ":memory:"):
        places.append(Path(database.database).parent)
    return places


def error_response(exc: KBError) -> JSONResponse:
    """The response for a domain error, with Retry-After when it says when to try again."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return JSONResponse(exc.as_json(), status_code=exc.status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Translate domain, validation and routing errors once, for every route."""

    @app.exception_handler(KBError)
    async def _domain(request: Request, exc: KBError) -> Response:
        if isinstance(exc, NotAuthenticated) and _wants_html(request):
            return RedirectResponse(f"/app/login?next={request.url.path}", status_code=303)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        fields = ", ".join(d["field"] or "body" for d in details)
        return JSONResponse(
            error_body("invalid_input", f"invalid request: {fields}", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    async def _infrastructure(request: Request, exc: Exception) -> Response:
        # The failures of the disk, the store and git that have a meaning for the client; any other goes
        # on to the handler below as a 500.
        full = storage_full(exc, _storage(request))
        if full is not None:
            log.error("%s %s: disk full: %s", request.method, request.url.path, exc)
            return error_response(full)
        if isinstance(exc, OverflowError):
            # A number past what the store holds (SQLite's 64 bits) names no record. The routes bound their
            # numbers; this keeps any that slips through a 4xx.
            log.warning("%s %s: number out of range: %s", request.method, request.url.path, exc)
            return error_response(InvalidInput("a number in the request is out of range"))
        raise exc

    for kind in (OSError, OverflowError, SQLAlchemyError, GitError):
        app.add_exception_handler(kind, _infrastructure)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal_error", "internal error; see the server log"), status_code=500
        )
