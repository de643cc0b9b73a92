"""The operators' site at /: the last complete MkDocs build of main, behind login."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from kbserver.api.deps import Reader, ServicesDep
from kbserver.errors import NotFound

router = APIRouter(tags=["site"])

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
def site_page(path: str, _reader: Reader, services: ServicesDep) -> Response:
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
    return FileResponse(target, media_type=media_type, headers={"Cache-Control": "no-cache"})
