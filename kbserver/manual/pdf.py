"""HTML to archival PDF (PDF/A-3u) with WeasyPrint, the approval record attached as JSON.

WeasyPrint runs no script (it has no JavaScript engine) and fetches only what its URL fetcher gives it: here,
images of the commit being printed, nothing from the network or the disk. It needs Pango from the system
(Debian: libpango-1.0-0, libpangoft2-1.0-0); it is imported only when a manual is built, so the rest of
the service runs without it, and a missing library is a clear error naming the packages.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from kbserver.collector import collector_paused
from kbserver.content.assets import suffix
from kbserver.errors import MissingSystemLibrary
from kbserver.manual.chapters import CONTENT_URL
from kbserver.manual.document import STYLESHEET
from kbserver.repository import ContentRepository

ATTACHMENT = "approval-record.json"
VARIANT = "pdf/a-3u"
_IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
_IMAGES[".webp"] = "image/webp"
PACKAGES = (
    "libpango-1.0-0 libpangoft2-1.0-0 (Debian and Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0)"
)


def _weasyprint() -> Any:
    try:
        import weasyprint
    except (OSError, ImportError) as exc:  # cffi could not load Pango, or WeasyPrint is not installed
        raise MissingSystemLibrary(
            f"building the procedures manual needs WeasyPrint and Pango from the system: install {PACKAGES}",
            {"cause": (str(exc).splitlines() or [type(exc).__name__])[0][:300]},
        ) from exc
    # WeasyPrint logs each image it could not fetch as a warning: content's business, said once here.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return weasyprint


def record_json(record: dict[str, Any]) -> bytes:
    """The attached approval record's bytes: sorted keys, so the same record is the same file."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, indent=2).encode() + b"\n"


def render_pdf(
    page: str, record: dict[str, Any], repo: ContentRepository, commit: str, effective: str
) -> bytes:
    """The manual's HTML as PDF/A bytes, the same for the same input (dates and ids come from the commit)."""
    weasyprint = _weasyprint()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class CommitImages(URLFetcher):  # type: ignore[misc]
        """Only images of the commit; every other URL (network, file:) is refused."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = url.removeprefix(CONTENT_URL)
            kind = _IMAGES.get(suffix(path))
            data = repo.read(commit, path) if url.startswith(CONTENT_URL) and kind else None
            if data is None:
                raise ValueError(f"not an image of the manual's commit: {url[:200]}")
            return URLFetcherResponse(url, data, {"Content-Type": kind})

    moment = datetime.fromisoformat(effective.replace("Z", "+00:00"))
    attachment = weasyprint.Attachment(
        string=record_json(record).decode(),
        name=ATTACHMENT,
        description="Approval record of this version (JSON)",
        created=moment,
        modified=moment,
        relationship="Data",
    )
    # About a million boxes, styles and text fragments, alive until the PDF is written, with cycles.
    with collector_paused(collect=True):
        document = weasyprint.HTML(string=page, base_url=CONTENT_URL, url_fetcher=CommitImages())
        data: bytes = document.write_pdf(
            stylesheets=[weasyprint.CSS(filename=str(STYLESHEET))],
            pdf_variant=VARIANT,
            attachments=[attachment],
            pdf_identifier=hashlib.sha256(commit.encode()).hexdigest()[:32].encode(),
        )
        del document  # its boxes become garbage before the one collection
    return data
