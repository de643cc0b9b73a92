"""Safe HTML from Markdown, exactly as the site renders it: one pipeline for the site, previews and the API.

The page goes through MkDocs' own page renderer (Python-Markdown, the site's extensions and link rewriting),
then through one HTML sanitiser. The site build runs the same sanitiser on every page (kbserver/sitehooks.py),
so a change request's preview shows what operators will get.
"""

from __future__ import annotations

import copy
import functools
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nh3

# The site's Markdown dialect. The site build's configuration is made from this list (kbserver/siteconfig.py).
MARKDOWN_EXTENSIONS: list[Any] = [
    "kbserver.mdext",  # raw HTML is escaped, never passed through
    {"toc": {"permalink": True}},
    "admonition",
    {"tables": {"use_align_attribute": True}},  # align="", not a style="" the CSP would block
    "attr_list",
]

ALLOWED_TAGS = {
    *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "kbd", "samp"),
    *("em", "strong", "b", "i", "u", "s", "del", "ins", "mark", "small", "sub", "sup", "abbr", "q"),
    *("ul", "ol", "li", "dl", "dt", "dd", "a", "img", "div", "span", "details", "summary"),
    *("table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "figure", "figcaption"),
}
# id and class are what attr_list may usefully set; every event handler and style= is dropped.
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}  # and relative URLs: never javascript:, data:, vbscript:
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]")  # browsers drop tabs and newlines inside a URL
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")


def _url_filter(_tag: str, attribute: str, value: str) -> str | None:
    # The sanitiser takes "java\tscript:" for a relative URL; a browser reads it as javascript:.
    if attribute in ("href", "src"):
        scheme = _SCHEME.match(_URL_NOISE.sub("", value).lower())
        if scheme and scheme.group(1) not in URL_SCHEMES:
            return None
    return value


def sanitize_html(html: str) -> str:
    """Keep only the allowed tags, attributes and URL schemes of rendered page HTML."""
    return str(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            clean_content_tags={"script", "style"},
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            attribute_filter=_url_filter,
            link_rel=None,
            strip_comments=True,
        )
    )


@functools.cache
def _config() -> Any:
    from mkdocs.config.defaults import MkDocsConfig

    from kbserver.resources import theme_overrides

    config = MkDocsConfig(config_file_path=None)
    config.load_dict(
        {
            "site_name": "preview",
            # Page rendering reads neither folder, but MkDocs checks that docs_dir exists.
            "docs_dir": str(theme_overrides()),
            "site_dir": str(Path(tempfile.gettempdir()) / "kb-preview-site"),
            "use_directory_urls": True,
            "markdown_extensions": copy.deepcopy(MARKDOWN_EXTENSIONS),  # MkDocs empties the dicts it reads
            # The site's link rewriting; a broken link in a draft is lint's to report, not the log's.
            "validation": {
                "links": dict.fromkeys(("not_found", "absolute_links", "unrecognized_links"), "ignore")
            },
        }
    )
    errors, _warnings = config.validate()
    if errors:
        raise RuntimeError(f"the preview's MkDocs configuration is invalid: {errors}")
    return config


def render_html(body: str, path: str, paths: Iterable[str] = ()) -> str:
    """Render the Markdown body of the document at path (docs/...) as the site does, links included.

    paths are the other files of the content (docs/...), so that links to them get the site's URLs.
    """
    from mkdocs.structure.files import File, Files
    from mkdocs.structure.pages import Page

    def file(repo_path: str) -> File:
        return File(repo_path.removeprefix("docs/"), src_dir=None, dest_dir="", use_directory_urls=True)

    files = Files([file(p) for p in {*paths, path} if p.startswith("docs/")])
    page = Page(None, files.get_file_from_path(path.removeprefix("docs/")) or file(path), _config())
    page.markdown = body
    page.render(_config(), files)
    return sanitize_html(str(page.content))
