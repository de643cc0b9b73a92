"""Which files under docs/ the site publishes besides pages: images, PDFs and files offered as downloads.

Never HTML, JavaScript, SVG or CSS: served from the site's own origin they would run as the site.
"""

from __future__ import annotations

import posixpath

IMAGE_TYPES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
INLINE_TYPES = IMAGE_TYPES | {".pdf"}
DOWNLOAD_TYPES = frozenset({".txt", ".csv", ".zip", ".docx", ".xlsx", ".pptx"})  # sent as attachments
ASSET_TYPES = INLINE_TYPES | DOWNLOAD_TYPES


def suffix(path: str) -> str:
    """The file's type, lower case, with its dot ('' when it has none)."""
    return posixpath.splitext(path)[1].lower()


def asset_problem(path: str) -> str | None:
    """Why a non-page file under docs/ is not published, or None when it is."""
    if path.endswith(".md") or suffix(path) in ASSET_TYPES:
        return None
    allowed = ", ".join(sorted(ASSET_TYPES))
    return f"{suffix(path) or 'a file without a type'} is not published: allowed are .md pages and {allowed}"
