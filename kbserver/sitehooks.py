"""MkDocs hooks of the service's site build: content reaches the templates escaped, and pages sanitised.

MkDocs' Jinja does not autoescape, so every front-matter value a template prints (title, owner, tags, a script
variable's description...) would otherwise be raw HTML. The service's build configuration names this file in
`hooks:` (kbserver/siteconfig.py); a content mkdocs.yml never can.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from mkdocs.plugins import event_priority

from kbserver.content.render import sanitize_html

# The front-matter keys the templates may see (overrides/main.html, Material's base.html); `template`,
# `icon`, `subtitle`, `status` badges and anything else never reach them.
PAGE_KEYS = {"id", "title", "lang", "owner", "tags", "audience", "review_by", "status", "translation_of"}
PAGE_KEYS |= {
    "source_commit",
    "description",
    "product",
    "symptoms",
    "channel",
    "variables",
    "version",
    "order",
}
VARIABLE_KEYS = {"name", "description", "required"}
HIDE_VALUES = {"navigation", "toc", "footer", "tags", "path"}


def escaped(value: Any) -> Any:
    """A copy of a front-matter value with every string HTML-escaped; other types become text, escaped."""
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, bool | int | float | date) or value is None:
        return value
    if isinstance(value, list):
        return [escaped(v) for v in value]
    if isinstance(value, dict):
        return {escaped(str(k)): escaped(v) for k, v in value.items()}
    return html.escape(str(value))


def safe_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The allowed front-matter keys of a page, escaped."""
    safe = {key: escaped(value) for key, value in meta.items() if key in PAGE_KEYS}
    if isinstance(meta.get("variables"), list):
        safe["variables"] = [
            {k: escaped(v) for k, v in item.items() if k in VARIABLE_KEYS}
            for item in meta["variables"]
            if isinstance(item, dict)
        ]
    if isinstance(meta.get("hide"), list):
        safe["hide"] = [v for v in meta["hide"] if v in HIDE_VALUES]
    search = meta.get("search")
    if isinstance(search, dict) and isinstance(search.get("exclude"), bool):
        safe["search"] = {"exclude": search["exclude"]}
    return safe


@event_priority(100)  # first: before the tags plugin and the templates read page.meta
def on_page_markdown(markdown: str, page: Any, **_kwargs: Any) -> str:
    """Replace the page's front matter by its allowed, escaped copy."""
    page.meta = safe_meta(dict(page.meta or {}))
    return markdown


@event_priority(-100)  # last: after the tags plugin has filled its listings into the pages
def on_env(env: Any, config: Any, files: Any, **_kwargs: Any) -> Any:
    """Sanitise every page's HTML with the same sanitiser as the previews and the API."""
    for file in files.documentation_pages():
        if file.page is not None and file.page.content is not None:
            # The body in its own element: it is exactly what a change request's preview shows.
            file.page.content = f'<div class="kb-body">{sanitize_html(file.page.content)}</div>'
    return env
