"""Gzip for the published site and the static assets only.

The site's pages, scripts and styles hold no secrets, and compressing them cuts what a page load downloads to
about a quarter. API and console responses are left alone: they carry CSRF tokens next to text a user typed,
which is what the BREACH attack on compressed HTTPS responses needs.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

UNCOMPRESSED = ("/api/", "/app/")
COMPRESSED_ANYWAY = ("/app/static/",)


class CompressSite:
    """Gzip (when the client accepts it) for every path but the API and the console pages."""

    def __init__(self, app: ASGIApp, minimum_size: int = 1024) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "")) if scope["type"] == "http" else ""
        if path and (not path.startswith(UNCOMPRESSED) or path.startswith(COMPRESSED_ANYWAY)):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
