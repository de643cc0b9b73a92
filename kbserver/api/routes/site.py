"""The operators' site at /: the last complete MkDocs build of main, behind login."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from kbserver.api.deps import Reader, ServicesDep
from kbserver.content.assets import ASSET_TYPES, DOWNLOAD_TYPES, suffix
from kbserver.errors import NotFound
from kbserver.site import LANGUAGE_FOLDER

router = APIRouter(tags=["site"])
_LANG = rf"({LANGUAGE_FOLDER.pattern}/)?"
# What the build itself writes besides pages. Content may add only images, PDFs and downloads: a .js, .html,
# .svg or .css from content would run as this origin, so none is ever served even if a build let one in.
SERVICE_FILE = re.compile(
    rf"^{_LANG}(assets/(javascripts|stylesheets|kb)/[\w./-]+\.(js|css|map)"
    rf"|search/search_index\.json|sitemap\.xml(\.gz)?|([\w.-]+/)*index\.html|404\.html)$"
)
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
        return _not_found(root)
    kind = suffix(target.name)
    if not (SERVICE_FILE.match(target.relative_to(root).as_posix()) or kind in ASSET_TYPES):
        return _not_found(root)
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    # Material's bundles carry their content hash in the name, so they never change; everything else is
    # asked again each time, and answered 304 when the browser's copy is current (ETag).
    cache = "private, max-age=31536000, immutable" if HASHED_ASSET.search(path) else "no-cache"
    headers = {"Cache-Control": cache}
    if kind in DOWNLOAD_TYPES:
        headers["Content-Disposition"] = "attachment"  # offered as a download, never shown in the page
    response = FileResponse(target, media_type=media_type, stat_result=target.stat(), headers=headers)
    if _matches(request.headers.get("if-none-match"), response.headers["etag"]):
        return Response(status_code=304, headers={"ETag": response.headers["etag"], "Cache-Control": cache})
    return response


def _not_found(root: Path) -> Response:
    missing = root / "404.html"
    if missing.is_file():
        return FileResponse(missing, status_code=404, media_type="text/html")
    return HTMLResponse("<h1>404</h1>", status_code=404)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
