"""The API's own documentation: OpenAPI and Swagger UI, served from this service (no CDN), to readers."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from kbserver.api.deps import Reader
from kbserver.errors import NotFound
from kbserver.resources import console_static

router = APIRouter(prefix="/api", tags=["docs"], include_in_schema=False)
# Swagger UI's own files, as the fastapi-offline package ships them; our starter script is beside the
# console's, so that the page runs no inline script and keeps the service's Content-Security-Policy.
SWAGGER = files("fastapi_offline") / "static"
ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript", "favicon.png": "image/png"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}: API</title>
<link rel="icon" href="/api/docs/assets/favicon.png">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi="/api/openapi.json"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/assets/api-docs.js"></script>
</body></html>
"""


@router.get("/openapi.json")
def openapi(request: Request, _reader: Reader) -> dict[str, Any]:
    """The OpenAPI description of this API."""
    return request.app.openapi()  # type: ignore[no-any-return]


@router.get("/docs")
def docs(request: Request, _reader: Reader) -> HTMLResponse:
    """Swagger UI over the OpenAPI description."""
    return HTMLResponse(PAGE.format(title=request.app.title.split(":")[0]))


@router.get("/docs/assets/{name}")
def docs_asset(name: str, _reader: Reader) -> FileResponse:
    """One of Swagger UI's files, or the page's starter script."""
    if name == "api-docs.js":
        return FileResponse(console_static() / "api-docs.js", media_type="text/javascript")
    if name not in ASSETS:
        raise NotFound(f"no such file: {name}")
    path = Path(str(SWAGGER / name))  # an installed package is a folder on disk
    return FileResponse(path, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})
