"""The operators' site at /: the last complete MkDocs build of main, behind login."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from kbserver.api.deps import Reader, ServicesDep
from kbserver.errors import NotFound
from kbserver.site import LANGUAGE_FOLDER

router = APIRouter(tags=["site"])
HASHED_ASSET = re.compile(
    rf"^({LANGUAGE_FOLDER.pattern}/)?assets/(javascripts|stylesheets)/[\w.-]+\.[0-9a-f]{{8}}\.min\.(js|css)$"
)

_BUILDING = """<!doctype html><html lang="es"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="3"><title>Construyendo el sitio…</title></head>
<body><h1>El sitio se está construyendo…</h1><p>Esta página se recargará sola en unos segundos.</p>
</body></html>"""


def _resolve(root: Path, path: str) -> Path | None:
    target = (root / path).resolve()
    if target != root and root not in target.parents:
        return None  # outside the site: never served
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


@router.get("/{path:path}", include_in_schema=False)
def site_page(path: str, request: Request, _reader: Reader, services: ServicesDep) -> Response:
    """A file of the served site; the site's 404 page when there is none."""
    if path == "api" or path.startswith(("api/", "app/")):
        raise NotFound(f"no such endpoint: /{path}")
    root = services.site.served_dir()
    if root is None:
        return HTMLResponse(_BUILDING, status_code=503, headers={"Retry-After": "3"})
    target = _resolve(root, path)
    if target is None:
        missing = root / "404.html"
        if missing.is_file():
            return FileResponse(missing, status_code=404, media_type="text/html")
        return HTMLResponse("<h1>404</h1>", status_code=404)
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    # Material's bundles carry their content hash in the name, so they never change; everything else is
    # asked again each time, and answered 304 when the browser's copy is current (ETag).
    cache = "private, max-age=31536000, immutable" if HASHED_ASSET.search(path) else "no-cache"
    response = FileResponse(
        target, media_type=media_type, stat_result=target.stat(), headers={"Cache-Control": cache}
    )
    if _matches(request.headers.get("if-none-match"), response.headers["etag"]):
        return Response(status_code=304, headers={"ETag": response.headers["etag"], "Cache-Control": cache})
    return response


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
