"""An XSS corpus for the site build and the API: Markdown bodies, every front-matter field, attr_list, link
and image destinations, mkdocs.yml values and static files; and a check that rendered HTML is inert."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path

import yaml


def hook_code(marker: Path) -> bytes:
    """Python the content tries to run on the server through mkdocs.yml; it writes marker if it ever runs."""
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\nx = 1\n".encode()


BODY_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "<svg onload=alert(3)>",
    '<iframe src="javascript:alert(4)"></iframe>',
    '<a href="javascript:alert(5)">raw link</a>',
    "<details open ontoggle=alert(6)>",
    "<style>*{background:url(javascript:alert(7))}</style>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(8)">',
    "<!-- x --><script>alert(9)</script>",
    '<object data="javascript:alert(10)"></object>',
    "`</code><script>alert(11)</script>`",
    "```\n</code></pre><script>alert(12)</script>\n```",
    '!!! warning "<img src=x onerror=alert(13)>"\n    admonition',
    "| a |\n|---|\n| <script>alert(14)</script> |",
    "**<b onmouseover=alert(15)>bold</b>**",
]
HEADING_PAYLOAD = "## <img src=x onerror=alert(16)> heading"
DESTINATION_PAYLOADS = [
    "[a](javascript:alert(20))",
    "[a](JaVaScRiPt:alert(21))",
    "[a](vbscript:msgbox(23))",
    "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgyNCk8L3NjcmlwdD4=)",
    "![i](javascript:alert(25))",
    "![i](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMjYpPg==)",
    "[r][ref27]\n\n[ref27]: javascript:alert(27)",
    "<javascript:alert(28)>",
    "[a](<javascript:alert(29)>)",
    '[a](https://example.com/" onmouseover="alert(30))',
]
# MkDocs --strict refuses the page (an "unrecognized relative link"), so only the API renders this one.
API_ONLY_PAYLOADS = ["[a](jav&#x61;script:alert(22))", "[a](java\tscript:alert(22))"]
ATTR_LIST_PAYLOADS = [
    'para one\n{: onclick="alert(40)" }',
    '[a](https://example.com/){: onmouseover="alert(41)" }',
    'para two\n{: style="background:url(javascript:alert(42))" }',
    '[a](https://example.com/){: href="javascript:alert(43)" }',
    '![i](https://example.com/i.png){: src="javascript:alert(44)" onerror="alert(44)" }',
    '## Step {: #ok onfocus="alert(45)" autofocus tabindex="1" }',
    '[b](https://example.com/){: formaction="javascript:alert(46)" target="_blank" }',
]
# Titles MkDocs takes from the first # heading of a page without a front-matter title (index.md, tags.md):
# Material prints them through `striptags`, which un-escapes entities.
REFRESH = '</title><meta http-equiv="refresh" content="0;url=https://evil.example/{n}">'
H1_PAGES = {
    "docs/kb/xss/heading/index.md": f"# Correo {REFRESH.format(n=90)}",
    "docs/tags.md": f"# Etiquetas {REFRESH.format(n=91)}<img src=x onerror=alert(91)>\n\n"
    + "<!-- material/tags -->",
}
# Heading text as it reaches the table of contents (its entries, their ids and aria-labels).
TOC_PAYLOADS = [
    f"## Paso {REFRESH.format(n=92)}",
    "## &lt;img src=x onerror=alert(93)&gt; &#60;script&#62;alert(93)&#60;/script&#62;",
    "## Paso con id {: id='a\" onmouseover=\"alert(94)' }",
    "## Paso con etiqueta {: data-toc-label='<img src=x onerror=alert(95)>\" onmouseover=\"alert(95)' }",
]
# Titles from the content's nav: a section's, and a page's that has no title of its own.
NAV_SECTION_TITLE = "<script>alert(80)</script>"
NAV_PAGE_TITLE = REFRESH.format(n=96) + '"><img src=x onerror=alert(96)>'
NAV_TITLED_PAGE = "docs/kb/xss/nav/index.md"
FIELD_PAYLOAD = '"><img src=x onerror=alert({n})><script>alert({n})</script>'
COMMON_FIELDS = ["id", "title", "lang", "owner", "tags", "audience", "review_by", "status", "translation_of"]
COMMON_FIELDS += [
    "source_commit",
    "description",
    "product",
    "symptoms",
    "template",
    "icon",
    "subtitle",
    "hide",
]
SCRIPT_FIELDS = ["channel", "variables.name", "variables.description", "variables.required"]
PROCEDURE_FIELDS = ["version", "order"]
STATIC_FILES = {
    "docs/assets/xss/p.js": b"alert(60)\n",
    "docs/assets/xss/p.html": b"<script>alert(61)</script>\n",
    "docs/assets/xss/p.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(62)"/>\n',
    "docs/assets/xss/p.css": b"body{background:red}\n",
    "docs/assets/xss/polyglot.png": b"<html><script>alert(63)</script></html>",  # served as image/png, inert
}
MKDOCS_YML = """site_name: '<script>alert(70)</script>'
site_description: '"><meta http-equiv="refresh" content="0;url=javascript:alert(71)">'
copyright: '<img src=x onerror=alert(72)>'
hooks: [docs/assets/xss/h.py]
plugins: [search]
theme:
  name: material
  custom_dir: docs/assets/xss
  language: es
extra:
  alternate:
    - {name: '<svg onload=alert(73)>', link: /, lang: es}
    - {name: English, link: /en/, lang: en}
extra_javascript: [assets/xss/p.js]
"""
# site_name, site_description, copyright, hooks, plugins, custom_dir, alternate, extra_javascript, and the
# nav's section and page titles
MKDOCS_YML_PAYLOADS = 10
PAYLOAD_COUNT = (
    len(BODY_PAYLOADS)
    + 1
    + len(DESTINATION_PAYLOADS)
    + len(ATTR_LIST_PAYLOADS)
    + len(API_ONLY_PAYLOADS)
    + len(COMMON_FIELDS)
    + len(SCRIPT_FIELDS)
    + len(PROCEDURE_FIELDS)
    + len(STATIC_FILES)
    + 1
    + MKDOCS_YML_PAYLOADS
    + len(H1_PAGES)
    + len(TOC_PAYLOADS)
    + 1  # + h.py
)


def _front(fields: dict[str, object]) -> str:
    return "---\n" + yaml.safe_dump(fields, allow_unicode=True, sort_keys=False) + "---\n\n"


def _valid(doc_id: str, title: str) -> dict[str, object]:
    return {"id": doc_id, "title": title, "lang": "es", "owner": "ana", "tags": ["xss"], "audience": ["L1"]}


def body_document() -> str:
    """An article whose body carries every Markdown, destination and attr_list payload."""
    meta = _valid("KB-0900", "Cuerpo con cargas") | {"review_by": "2030-01-01"}
    parts = [
        "# Cuerpo con cargas",
        HEADING_PAYLOAD,
        *BODY_PAYLOADS,
        *DESTINATION_PAYLOADS,
        *ATTR_LIST_PAYLOADS,
    ]
    return _front(meta) + "\n\n".join(parts) + "\n"


def corpus_nav(pages: Iterable[str]) -> list[object]:
    """A content nav listing every page (MkDocs --strict refuses one that leaves a page out): the corpus's in
    a section with a payload title, one of them under a payload title of its own."""
    paths = sorted({p.removeprefix("docs/") for p in pages if p.startswith("docs/") and p.endswith(".md")})
    corpus = [p for p in paths if p.startswith("kb/xss/")]
    section: list[object] = ["kb/xss/index.md"] + [p for p in corpus if p != "kb/xss/index.md"]
    titled = NAV_TITLED_PAGE.removeprefix("docs/")
    section[section.index(titled)] = {NAV_PAGE_TITLE: titled}
    return [p for p in paths if p not in corpus] + [{NAV_SECTION_TITLE: section}]


def corpus_files(marker: Path, pages: Iterable[str]) -> dict[str, bytes | None]:
    """Every file of the corpus, by path in the content repository, for content that has pages already; its
    hook would write marker."""
    heading = H1_PAGES["docs/kb/xss/heading/index.md"]
    files: dict[str, bytes | None] = {
        "docs/assets/xss/h.py": hook_code(marker),
        "docs/kb/xss/index.md": b"---\ntitle: '<script>alert(80)</script>'\n---\n\nSecci\xc3\xb3n.\n",
        "docs/kb/xss/body.md": body_document().encode(),
        "docs/kb/xss/heading/index.md": (
            heading + "\n\nTexto.\n\n" + "\n\n".join(TOC_PAYLOADS) + "\n"
        ).encode(),
        "docs/tags.md": (H1_PAGES["docs/tags.md"] + "\n").encode(),
        NAV_TITLED_PAGE: b"Una p\xc3\xa1gina sin t\xc3\xadtulo propio.\n",
        **STATIC_FILES,
    }
    for n, field in enumerate(COMMON_FIELDS, start=100):
        meta = _valid(f"KB-{n:04d}", f"Campo {field}") | {"review_by": "2030-01-01"}
        meta[field] = (
            [FIELD_PAYLOAD.format(n=n)]
            if field in ("tags", "audience", "symptoms", "hide")
            else (FIELD_PAYLOAD.format(n=n))
        )
        files[f"docs/kb/xss/field-{field}.md"] = (_front(meta) + f"Texto {field}.\n").encode()
    for n, field in enumerate(SCRIPT_FIELDS, start=200):
        variable = {"name": "user_name", "description": "Nombre", "required": True}
        meta = _valid(f"SCR-{n:04d}", f"Guion {field}") | {"review_by": "2030-01-01", "channel": "chat"}
        if field == "channel":
            meta["channel"] = FIELD_PAYLOAD.format(n=n)
        else:
            variable[field.split(".")[1]] = FIELD_PAYLOAD.format(n=n)
        meta["variables"] = [variable]
        body = "## 1. Saludo\n\n> Hola {{ user_name }}\n"
        files[f"docs/scripts/xss-{field.replace('.', '-')}.md"] = (_front(meta) + body).encode()
    for n, field in enumerate(PROCEDURE_FIELDS, start=300):
        meta = _valid(f"PROC-{n}", f"Capítulo {field}") | {
            "review_by": "2030-01-01",
            "version": "1",
            "order": 9,
        }
        meta[field] = FIELD_PAYLOAD.format(n=n)
        files[f"docs/procedures/xss-{field}.md"] = (_front(meta) + "Texto.\n").encode()
    nav = yaml.safe_dump({"nav": corpus_nav([*pages, *files])}, allow_unicode=True, sort_keys=False)
    files["mkdocs.yml"] = (MKDOCS_YML + nav).encode()
    return files


SERVICE_SCRIPT = re.compile(r"(^|/)assets/(javascripts/bundle\.[0-9a-f]+\.min\.js|kb/(kb|md-base)\.js)$")
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "xlink:href",
    "srcdoc",
    "poster",
    "background",
}
BAD_TAGS = {"iframe", "object", "embed", "style", "base", "frame", "frameset", "applet", "svg", "math"}


class _Inspector(HTMLParser):
    def __init__(self, page: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "script":
            service = SERVICE_SCRIPT.search(values.get("src", ""))
            config = values.get("id") == "__config" and values.get("type") == "application/json"
            if not (self.page and (service or config)):
                self.problems.append(f"<script {values}>")
        active = tag in BAD_TAGS and not (self.page and tag == "svg")  # the theme's icons are inline SVG
        if active or (tag == "meta" and "http-equiv" in values):
            self.problems.append(f"<{tag} {values}>")
        for name, value in values.items():
            if name.startswith("on") or name == "style":
                self.problems.append(f"<{tag} {name}={value!r}>")
            target = re.sub(r"[\x00-\x20]", "", html.unescape(value)).lower()
            if name in URL_ATTRIBUTES and target.startswith(("javascript:", "vbscript:", "data:")):
                self.problems.append(f"<{tag} {name}={value!r}>")


def dangers(markup: str, page: bool = False) -> list[str]:
    """What in the HTML could run script: script elements (other than the service's own on a page), event
    handlers, style attributes, active elements, and javascript:/vbscript:/data: URLs."""
    inspector = _Inspector(page)
    inspector.feed(markup)
    inspector.close()
    return inspector.problems
