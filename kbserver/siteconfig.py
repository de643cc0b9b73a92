"""The site's MkDocs configuration: the service owns it; the content's mkdocs.yml gives only harmless values.

A content mkdocs.yml could otherwise run code on the server (`hooks:`, `plugins:`, `markdown_extensions:`,
`theme.custom_dir:`, `!!python/name:` tags). So only the keys in ALLOWED are read from it, each checked and
HTML-escaped (MkDocs' templates do not escape); lint refuses every other key and every YAML tag, and the build
ignores them, whatever reached the branch.
"""

from __future__ import annotations

import copy
import html
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kbserver.content.model import Finding
from kbserver.content.render import MARKDOWN_EXTENSIONS
from kbserver.content.yamltext import ContentLoader, compose_yaml, yaml_problem
from kbserver.resources import theme_overrides

log = logging.getLogger(__name__)
CONFIG_FILE = "mkdocs.yml"
HOOKS = Path(__file__).with_name("sitehooks.py")
LANGUAGE = re.compile(r"[a-z]{2}(-[a-z]{2})?")  # /en/, /pt-br/: nothing else becomes a folder
ALLOWED = {
    "site_name": None,
    "site_description": None,
    "copyright": None,
    "nav": None,
    "extra": {"alternate"},
    "theme": {"language", "palette", "features"},
}
BASE_FEATURES = [
    "navigation.prune",  # build time grows quadratically without it
    "navigation.indexes",
    "navigation.sections",
    "navigation.top",
    "navigation.footer",
    "search.highlight",
    "content.code.copy",
    "toc.follow",
]
EXTRA_FEATURES = {"navigation.expand", "navigation.path", "navigation.tabs", "navigation.tabs.sticky"}
EXTRA_FEATURES |= {"toc.integrate"}
PALETTE_KEYS = {"scheme", "primary", "accent"}
PALETTE_VALUE = re.compile(r"[a-z][a-z -]{0,30}")
URL = re.compile(r"https?://[^\s\"'<>\\\x00-\x1f\x7f]+")
# A page of docs/ by relative path: no scheme (a colon anywhere), no backslash, no control character.
NAV_PAGE = re.compile(r"([^/\\:\x00-\x1f\x7f]+/)*[^/\\:\x00-\x1f\x7f]+\.md")
NAV_RULE = "nav must list .md pages inside docs/ (relative paths: no scheme, no .., no leading /) or http(s)"
NAV_RULE += " links, with text titles"
MAX_TEXT = 300


class _LenientLoader(ContentLoader):
    """Reads mkdocs.yml without running its tags (!!python/name:, !ENV): they become None."""


_LenientLoader.add_multi_constructor("", lambda _loader, _suffix, _node: None)


@dataclass
class ContentSiteConfig:
    """The harmless values a content mkdocs.yml gives, checked and escaped, and what was refused."""

    values: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def language(self) -> str:
        """The language of the main build."""
        return str(self.values.get("theme", {}).get("language", "es"))

    def alternate_languages(self) -> list[tuple[str, str]]:
        """(folder, language) of each `extra.alternate` entry that links to a folder below the root, such
        as `{link: /en/, lang: en}`; the root entry is the main build."""
        entries = self.values.get("extra", {}).get("alternate", [])
        return [(e["link"].strip("/"), e["lang"]) for e in entries if e["link"] != "/"]


def read_site_config(text: str, path: str = CONFIG_FILE) -> ContentSiteConfig:
    """The allowed values of a content mkdocs.yml; any other key, any tag and any bad value is a finding."""
    found = ContentSiteConfig()

    def refuse(line: int, message: str) -> None:
        found.findings.append(Finding(path, line, "site-config", message))

    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.TagToken):
                handle, suffix = token.value
                refuse(token.start_mark.line + 1, f"YAML tag {handle or ''}{suffix} is not allowed")
        root = compose_yaml(text)  # no anchors or aliases: so each value below has exactly one node
        loaded = yaml.load(text, Loader=_LenientLoader)  # a SafeLoader; tags become None
    except yaml.YAMLError as exc:
        line, message = yaml_problem(exc)
        refuse(line + 1, message)
        return found
    if root is None:
        return found
    if not isinstance(root, yaml.MappingNode) or not isinstance(loaded, dict):
        refuse(1, "mkdocs.yml must be a mapping of keys")
        return found
    tagged = {f.line for f in found.findings}
    keys = [str(key_node.value) for key_node, _value in root.value]
    for key_node, value_node in root.value:
        key, line = str(key_node.value), key_node.start_mark.line + 1
        if keys.count(key) > 1:  # which one would count is not obvious to whoever reads the file
            refuse(line, f"key {key!r} appears more than once")
            continue
        if key not in ALLOWED:
            refuse(
                line, f"key {key!r} is not allowed: the service owns the site's configuration " + _allowed()
            )
            continue
        if any(value_node.start_mark.line <= t - 1 <= value_node.end_mark.line for t in tagged):
            continue  # refused above; nothing of it is used
        value = loaded.get(key)
        inner = ALLOWED[key]
        if key == "nav":
            nav = _nav(value, value_node, refuse)
            if nav is not None:
                found.values[key] = nav
            continue
        if inner is None:
            checked = _check_value(key, value, line, refuse)
            if checked is not None:
                found.values[key] = checked
            continue
        if not isinstance(value, dict) or not isinstance(value_node, yaml.MappingNode):
            refuse(line, f"{key} must be a mapping")
            continue
        for sub_node, _sub_value in value_node.value:
            sub, sub_line = str(sub_node.value), sub_node.start_mark.line + 1
            if sub not in inner:
                refuse(sub_line, f"key '{key}.{sub}' is not allowed: the service owns it " + _allowed())
                continue
            checked = _check_value(f"{key}.{sub}", value.get(sub), sub_line, refuse)
            if checked is not None:
                found.values.setdefault(key, {})[sub] = checked
    return found


def _allowed() -> str:
    names = [k if v is None else f"{k}.{s}" for k, v in ALLOWED.items() for s in sorted(v or [""])]
    return f"(allowed: {', '.join(names)})"


def _text(value: Any) -> str | None:
    return html.escape(value) if isinstance(value, str) and 0 < len(value) <= MAX_TEXT else None


def _check_value(name: str, value: Any, line: int, refuse: Any) -> Any:
    """The value, checked and escaped, or None (with a finding) when it is refused."""
    checked: Any = None
    if name in ("site_name", "site_description", "copyright"):
        checked = _text(value)
        why = f"must be text of 1 to {MAX_TEXT} characters"
    elif name == "theme.language":
        checked = value if isinstance(value, str) and LANGUAGE.fullmatch(value) else None
        why = "must be a language code such as es or en"
    elif name == "theme.features":
        known = set(BASE_FEATURES) | EXTRA_FEATURES
        ok = isinstance(value, list) and all(isinstance(f, str) and f in known for f in value)
        checked = value if ok else None
        why = f"must be a list of these features: {', '.join(sorted(known))}"
    elif name == "theme.palette":
        checked = _palette(value)
        why = f"must be a mapping (or list of mappings) of {', '.join(sorted(PALETTE_KEYS))} to colour names"
    else:  # extra.alternate
        checked = _alternate(value)
        why = "must be a list of {name, link, lang}, each link / or a language folder such as /en/"
    if checked is None:
        refuse(line, f"{name} {why}")
    return checked


def _palette(value: Any) -> Any:
    entries = value if isinstance(value, list) else [value]
    for entry in entries:
        if not isinstance(entry, dict) or not set(entry) <= PALETTE_KEYS:
            return None
        if not all(isinstance(v, str) and PALETTE_VALUE.fullmatch(v) for v in entry.values()):
            return None
    return value


def _alternate(value: Any) -> list[dict[str, str]] | None:
    if not isinstance(value, list):
        return None
    out = []
    for entry in value:
        if not isinstance(entry, dict) or not set(entry) <= {"name", "link", "lang"}:
            return None
        name, link, lang = _text(entry.get("name")), entry.get("link"), entry.get("lang")
        folder = link.strip("/") if isinstance(link, str) else None
        root = link == "/"
        is_folder = root or bool(folder and link == f"/{folder}/" and LANGUAGE.fullmatch(folder))
        if name is None or not is_folder or not (isinstance(lang, str) and LANGUAGE.fullmatch(lang)):
            return None
        out.append({"name": name, "link": str(link), "lang": lang})
    return out


def _nav_page(value: Any) -> bool:
    return isinstance(value, str) and bool(NAV_PAGE.fullmatch(value)) and ".." not in value.split("/")


def _nav(value: Any, node: yaml.Node, refuse: Any) -> list[Any] | None:
    """The nav with its titles escaped, or None when any entry is refused (each a finding with its line):
    a nav that lost entries would leave pages out, so the build uses its own navigation instead."""
    if not isinstance(value, list) or not isinstance(node, yaml.SequenceNode):
        refuse(node.start_mark.line + 1, NAV_RULE)
        return None
    out: list[Any] = []
    refused = False
    for item, item_node in zip(value, node.value, strict=True):  # one node per item: no aliases
        line = item_node.start_mark.line + 1
        if _nav_page(item):
            out.append(item)
            continue
        if not isinstance(item, dict) or len(item) != 1 or not isinstance(item_node, yaml.MappingNode):
            refuse(line, f"{NAV_RULE}: {item!r} is not one")
            refused = True
            continue
        ((title, target),) = item.items()
        target_node = item_node.value[-1][1]  # a repeated key: the last one counts, as in the value
        escaped = _text(title)
        if isinstance(target, list):
            inner = _nav(target, target_node, refuse)
        elif _nav_page(target) or (isinstance(target, str) and URL.fullmatch(target)):
            inner = target
        else:
            refuse(target_node.start_mark.line + 1, f"{NAV_RULE}: {target!r} is not one")
            inner = None
        if escaped is None:
            refuse(line, f"{NAV_RULE}: the title {title!r} is not text of 1 to {MAX_TEXT} characters")
        if escaped is None or inner is None:
            refused = True
            continue
        out.append({escaped: inner})
    return None if refused else out


def build_config(
    content: ContentSiteConfig, docs_dir: Path, nav: list[Any], language: str | None = None
) -> dict[str, Any]:
    """The MkDocs configuration of one build: the service's own, with the content's checked values."""
    theme = content.values.get("theme", {})
    features = BASE_FEATURES + [f for f in theme.get("features", []) if f not in BASE_FEATURES]
    config: dict[str, Any] = {
        "site_name": content.values.get("site_name", "Base de conocimiento"),
        "docs_dir": str(docs_dir),
        "use_directory_urls": True,
        "strict": True,
        "theme": {
            "name": "material",
            "language": language or content.language,
            "custom_dir": str(theme_overrides()),
            "font": False,  # no request leaves the machine
            "features": features,
            "palette": theme.get("palette", {"scheme": "default", "primary": "indigo", "accent": "indigo"}),
        },
        "extra_css": ["assets/kb/kb.css"],  # from the theme overrides: search results, feedback, script tools
        "extra": {"alternate": content.values.get("extra", {}).get("alternate", [])},
        "plugins": [{"search": {"lang": ["es", "en"]}}, "tags"],
        "hooks": [str(HOOKS)],
        "markdown_extensions": copy.deepcopy(MARKDOWN_EXTENSIONS),
        "nav": content.values.get("nav", nav),
        "validation": {
            "nav": {"omitted_files": "warn", "not_found": "warn"},
            "links": {k: "warn" for k in ("not_found", "anchors", "absolute_links", "unrecognized_links")},
        },
    }
    for key in ("site_description", "copyright"):
        if key in content.values:
            config[key] = content.values[key]
    return config


def log_refusals(content: ContentSiteConfig) -> None:
    """Say in the log what the build ignored of the content's mkdocs.yml."""
    for finding in content.findings:
        log.warning("site: ignored from the content: %s", finding)
