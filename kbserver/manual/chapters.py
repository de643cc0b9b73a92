"""The manual's chapters: the procedures of a commit in their `order`, rendered by the site's pipeline.

Each chapter is rendered as the site renders its page (kbserver/content/render.py: MkDocs' renderer and the
one sanitiser), then made to stand inside one document: ids get the chapter's prefix so that two chapters
can both have an "Alcance" heading, links between chapters become links within the PDF, and images point
into the commit (kbserver/manual/pdf.py serves only those). A link to any other page of the site has no
target in print, so it keeps its text and loses its address.
Then printable.py makes the chapter cheap to lay out.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from kbserver.content import Kind, parse_document, render_html
from kbserver.content.model import ProcedureMeta
from kbserver.errors import ContentError
from kbserver.manual.printable import printable
from kbserver.manual.record import PROCEDURES
from kbserver.repository import ContentRepository

CONTENT_URL = "kb-content:/"  # images of the commit: the only resources the PDF renderer may fetch
_ATTRIBUTE = re.compile(r'\b(id|href|src)="([^"]*)"')
_EMPTY_LINK = re.compile(r'<a href="">')
_EXTERNAL = ("http://", "https://", "mailto:", "tel:")


@dataclass(frozen=True)
class Chapter:
    """One chapter as the manual prints it."""

    doc_id: str
    title: str
    version: str
    order: int
    path: str
    anchor: str
    html: str


def _anchor(doc_id: str) -> str:
    return "ch-" + re.sub(r"[^A-Za-z0-9_-]", "-", doc_id)


def _localise(body: str, page_url: str, anchor: str, anchors: dict[str, str]) -> str:
    """Make a chapter's sanitised HTML stand inside the one document (see the module's docstring)."""

    def rewrite(found: re.Match[str]) -> str:
        name, value = found.group(1), html.unescape(found.group(2))
        if name == "id":
            return f'id="{html.escape(f"{anchor}-{value}")}"'
        if value.startswith(_EXTERNAL):
            return found.group(0)
        if value.startswith("#"):
            return f'href="#{html.escape(f"{anchor}-{value[1:]}")}"'
        target = urlsplit(urljoin(page_url, value))
        if name == "src":
            return f'src="{html.escape(CONTENT_URL + "docs" + target.path)}"'
        other = anchors.get(target.path)
        if other is None:
            return 'href=""'
        return f'href="#{html.escape(f"{other}-{target.fragment}" if target.fragment else other)}"'

    return _EMPTY_LINK.sub("<a>", _ATTRIBUTE.sub(rewrite, body))


def _named_in(body: str, paths: list[str]) -> list[str]:
    """The paths whose file name the chapter's Markdown mentions: the only files its links and images can
    reach. render_html makes MkDocs' list of files from every path it is given, once per chapter, which made
    the rendering of a long manual grow with the square of its chapters."""
    text = body + unquote(body)
    return [p for p in paths if p.rsplit("/", 1)[-1] in text]


def load_chapters(repo: ContentRepository, commit: str) -> list[Chapter]:
    """The active chapters of the manual at commit, in their order (then by id), rendered for print.

    A chapter that cannot be read is a ContentError naming file and line: a controlled document is never
    printed with a chapter missing. Lint refuses such a file at submit, so main does not hold one."""
    paths = repo.paths(commit)
    docs = []
    for path, source in repo.files(commit, PROCEDURES):
        doc = parse_document(path, source)
        if doc.kind is not Kind.PROCEDURE:
            continue  # index.md and other navigation pages
        errors = [f for f in doc.findings if f.severity == "error"]
        if errors or not isinstance(doc.meta, ProcedureMeta):
            raise ContentError(
                f"the manual cannot be built: {path} has errors", [str(f) for f in errors] or [path]
            )
        if doc.meta.status == "active":
            docs.append((doc, doc.meta))
    docs.sort(key=lambda pair: (pair[1].order, pair[1].id))
    anchors = {doc.url: _anchor(meta.id) for doc, meta in docs}
    chapters = []
    for doc, meta in docs:
        anchor = anchors[doc.url]
        rendered = render_html(doc.body, doc.path, _named_in(doc.body, paths))
        chapters.append(
            Chapter(
                doc_id=meta.id,
                title=meta.title,
                version=meta.version,
                order=meta.order,
                path=doc.path,
                anchor=anchor,
                html=printable(_localise(rendered, doc.url, anchor, anchors)),
            )
        )
    return chapters
