"""MkDocs hooks of the service's site build: content reaches the templates escaped, and pages sanitised.

MkDocs' Jinja does not autoescape, so every front-matter value a template prints (title, owner, tags, a script
variable's description...) would otherwise be raw HTML. Titles (of pages, sections, table-of-contents entries)
are HTML text for MkDocs and Material: each is made plain text, escaped, whatever it came from (front matter,
a # heading, the content's nav, a file or folder name). The service's build configuration names this file in
`hooks:` (kbserver/siteconfig.py); a content mkdocs.yml never can.
"""

from __future__ import annotations

import html
import os
from datetime import date
from typing import Any

import yaml
from jinja2 import FileSystemBytecodeCache
from markupsafe import Markup
from mkdocs.plugins import event_priority
from mkdocs.structure.nav import Link, Section
from mkdocs.utils.meta import YAML_RE

from kbserver.content.render import sanitize_html
from kbserver.content.yamltext import load_yaml
from kbserver.sitebuild import TEMPLATE_CACHE

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


def plain_title(title: Any) -> str:
    """A title as escaped plain text: tags dropped, entities read once, then everything escaped again."""
    return html.escape(Markup(str(title or "")).striptags())


def front_matter(source: str, meta: dict[str, Any]) -> dict[str, Any]:
    """A page's front matter read as the content model reads it, or {} when it refuses it (an alias, say):
    MkDocs' own loader follows aliases, and walking a self-referencing or "billion laughs" value never ends.
    """
    match = YAML_RE.match(source)
    if match is None:
        return meta  # MkDocs' MultiMarkdown-style meta: flat text values
    try:
        loaded = load_yaml(match.group(1))
    except yaml.YAMLError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


@event_priority(100)  # first: before the tags plugin and the templates read page.meta
def on_page_markdown(markdown: str, page: Any, **_kwargs: Any) -> str:
    """Replace the page's front matter by its allowed, escaped copy."""
    page.meta = safe_meta(front_matter(page.file.content_string, dict(page.meta or {})))
    return markdown


def _plain_toc(items: Any) -> None:
    for item in items:
        item.title = plain_title(item.title)
        item.id = html.escape(item.id)  # attr_list sets any id, quotes included; templates print it raw
        _plain_toc(item.children)


@event_priority(-100)  # last: after every other hook has had its say on the page
def on_page_content(content: str, page: Any, **_kwargs: Any) -> str:
    """Pin the page's title and its table of contents as escaped plain text, now that rendering set them."""
    page.title = plain_title(page.title) or html.escape(page.file.name)
    _plain_toc(page.toc)
    return content


def _plain_nav(items: Any) -> None:
    for item in items:
        if isinstance(item, Section | Link):
            item.title = plain_title(item.title)
        if isinstance(item, Section):
            _plain_nav(item.children)


def on_nav(nav: Any, **_kwargs: Any) -> Any:
    """Section and link titles of the navigation as escaped plain text (a folder's name, say)."""
    _plain_nav(nav.items)
    return nav


@event_priority(-100)  # last: after the tags plugin has filled its listings into the pages
def on_env(env: Any, config: Any, files: Any, **_kwargs: Any) -> Any:
    """Sanitise every page's HTML with the same sanitiser as the previews and the API; keep the theme's
    compiled templates in the service's cache folder (kbserver/sitebuild.py) for the next build."""
    cache = os.environ.get(TEMPLATE_CACHE)
    if cache and env.bytecode_cache is None:
        env.bytecode_cache = FileSystemBytecodeCache(cache)
    for file in files.documentation_pages():
        if file.page is not None and file.page.content is not None:
            # The body in its own element: it is exactly what a change request's preview shows.
            file.page.content = f'<div class="kb-body">{sanitize_html(file.page.content)}</div>'
    return env
