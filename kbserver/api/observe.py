"""The outermost layer of every request: its id (in the logs and the X-Request-ID header) and its metrics
(count and latency by route template), as plain ASGI so that it costs no task of its own."""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kbserver.logs import REQUEST_ID

HEADER = b"x-request-id"
# What a proxy or a client may hand in: ids, UUIDs, trace ids. Anything else (too long, spaces, quotes,
# control characters) would let a caller write into the log lines, so it is replaced by a new id.
SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}", re.ASCII)
UNMATCHED = "<unmatched>"  # no route: one label for every unknown path, so a scan adds no series


def incoming_id(scope: Scope) -> str | None:
    """The request's own X-Request-ID when it is sane, else None."""
    for name, value in scope.get("headers", []):
        if name == HEADER:
            text = value.decode("latin-1")
            return text if SANE_ID.fullmatch(text) else None
    return None


class HttpMiddleware:
    """An ASGI middleware that acts on HTTP requests (http()) and passes anything else, such as the lifespan
    messages, straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one HTTP request through self.app."""
        raise NotImplementedError


class RequestId(HttpMiddleware):
    """Gives each request an id (the caller's X-Request-ID if sane, else a new one), sets it for the log
    lines written while the request is served, and returns it in the X-Request-ID header."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request under its id."""
        request_id = incoming_id(scope) or uuid.uuid4().hex
        # Each request runs in its own task, with its own copy of the context: the id is not reset, so the
        # server's own line about a request that failed, written after this returns, still carries it.
        REQUEST_ID.set(request_id)
        header = (HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def route_of(scope: Scope) -> str:
    """The template of the route that answered (`/api/changes/{number}`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetrics(HttpMiddleware):
    """Counts each request by method, route template and status, and times it, in the metrics of the app's
    services. The count is taken before the last part of the response leaves, so a client that has its
    answer also finds it counted."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, counted and timed."""
        metrics = scope["app"].state.services.metrics  # built by the app's lifespan, before any request
        started = time.perf_counter()
        status = 500  # if the app fails before it answers, the server answers 500
        counted = False

        def count() -> None:
            nonlocal counted
            if not counted:
                counted = True
                metrics.request(scope["method"], route_of(scope), status, time.perf_counter() - started)

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                count()
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            count()
