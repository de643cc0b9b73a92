"""Another system's article HTML as the product's Markdown, with nothing hostile left in it.

Three passes: elements that run or embed something (script, style, iframe, object, form …) go with their
content; the rest goes through the site's own sanitiser (kbserver/content/render.py: allowed tags and
attributes, http(s)/mailto/tel or relative URLs only, no event handlers); then markdownify writes Markdown,
with text that looks like HTML escaped so that it stays text. Links and images are handed to the caller,
which says where each may point (or that it goes), and images embedded as data: URLs become files.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bs4 import BeautifulSoup, Tag
from markdownify import ATX, MarkdownConverter

from kbserver.content.render import URL_SCHEMES, sanitize_html

DROPPED = (
    *("script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript"),
    *("template", "form", "input", "button", "select", "textarea", "svg", "math", "link", "meta", "base"),
)
IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}
_DATA_URL = re.compile(r"^data:(image/[a-z+.-]+);base64,(.*)$", re.IGNORECASE | re.DOTALL)
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_NOISE = re.compile(r"[\x00-\x20\x7f]")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")

# href -> where the link should point instead, or None to keep only its text
Relink = Callable[[str], str | None]


@dataclass
class Converted:
    """The Markdown, the image files it refers to (name -> bytes), and what did not come through as it was."""

    markdown: str
    images: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Markdown(MarkdownConverter):
    """markdownify, escaping what Markdown would read as HTML, an entity or a link, and pipes in tables."""

    def escape(self, text: str, parent_tags: set[str]) -> str:
        text = str(super().escape(text, parent_tags))  # type: ignore[misc]  # not in its stub
        text = _ENTITY.sub("&amp;", text).replace("<", "&lt;")
        # Lint reads "](" as a link's start even when escaped: the parenthesis is escaped too.
        text = text.replace("[", r"\[").replace("]", r"\]").replace(r"\](", r"\]\(")
        if parent_tags & {"td", "th"}:
            text = text.replace("|", r"\|")
        return text


def scheme_of(url: str) -> str | None:
    """The URL's scheme, lower case, as a browser reads it (control characters and spaces dropped)."""
    found = _SCHEME.match(_NOISE.sub("", url))
    return found.group(1).lower() if found else None


def html_to_markdown(html: str, relink: Relink, image_name: Callable[[int, str], str]) -> Converted:
    """Convert article HTML; relink decides each link's and image's target, image_name names data: images."""
    soup = BeautifulSoup(html, "html.parser")
    result = Converted("")
    dropped = sorted({t.name for t in soup.find_all(DROPPED)})
    for element in soup.find_all(DROPPED):
        if not element.decomposed:
            element.decompose()
    if dropped:
        result.notes.append(f"removed {', '.join(f'<{n}>' for n in dropped)}")
    for link in soup.find_all("a"):
        _relink(link, relink, result)
    for number, image in enumerate(soup.find_all("img"), start=1):
        _image(soup, image, number, relink, image_name, result)
    clean = sanitize_html(str(soup))
    converter = _Markdown(heading_style=ATX, bullets="-", escape_underscores=True, strip=["span"])
    text = converter.convert(clean)
    result.markdown = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return result


def _relink(link: Tag, relink: Relink, result: Converted) -> None:
    href = str(link.get("href") or "").strip()
    if not href:
        link.unwrap()
        return
    scheme = scheme_of(href)
    if scheme is not None and scheme not in URL_SCHEMES:
        result.notes.append(f"removed a {scheme}: link")
        link.unwrap()
        return
    target = relink(href)
    if target is None:
        result.notes.append(f"link to {href[:80]} kept as text")
        link.unwrap()
    else:
        link.attrs = {"href": target}


def _image(
    soup: BeautifulSoup,
    image: Tag,
    number: int,
    relink: Relink,
    image_name: Callable[[int, str], str],
    result: Converted,
) -> None:
    src = str(image.get("src") or "").strip()
    alt = " ".join(str(image.get("alt") or image.get("title") or "").split())
    embedded = _DATA_URL.match(src)
    if embedded and embedded.group(1).lower() in IMAGE_TYPES:
        try:
            data = base64.b64decode(embedded.group(2), validate=False)
        except (binascii.Error, ValueError):
            data = b""
        if data:
            name = image_name(number, IMAGE_TYPES[embedded.group(1).lower()])
            result.images[name] = data
            image.attrs = {"src": name, "alt": alt or f"image {number}"}
            return
    scheme = scheme_of(src)
    target = relink(src) if src and (scheme is None or scheme in ("http", "https")) else None
    if target is None:
        result.notes.append(f"image {src[:80] or '(no source)'} not imported")
        image.replace_with(alt)
        return
    # Served from elsewhere, an image would not load on the site (its policy admits only its own images):
    # it becomes a link to where it is.
    result.notes.append(f"image {src[:80]} linked, not copied")
    replacement: Any = soup.new_tag("a", href=target)
    replacement.string = alt or f"image {number}"
    image.replace_with(replacement)
