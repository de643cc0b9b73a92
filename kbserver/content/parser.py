"""One parser for every source: disk, a git blob at a commit, or a request body."""

from __future__ import annotations

import re
from typing import Any

import yaml
from markdown.extensions.toc import slugify, unique
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import ValidationError

from kbserver.content.model import (
    META_MODELS,
    PLACEHOLDER_RE,
    Document,
    Finding,
    Kind,
    Link,
    Placeholder,
    Section,
    Step,
    kind_for_path,
)
from kbserver.content.yamltext import load_yaml, yaml_problem

_KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:")


def markdown() -> MarkdownIt:
    """The Markdown dialect of the content: CommonMark and tables, raw HTML switched off."""
    return MarkdownIt("commonmark", {"html": False}).enable("table")


_MD = markdown()


def heading_anchor(title: str, seen: set[str]) -> str:
    """The anchor MkDocs gives a heading (Python-Markdown's toc slugify, deduplicated)."""
    return str(unique(slugify(title, "-"), seen))


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Split `---` front matter from the body; returns (yaml or None, body, body's first line)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return None, text, 1
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return "".join(lines[1:i]), "".join(lines[i + 1 :]), i + 2
    return "".join(lines[1:]), "", len(lines) + 1


def parse_document(path: str, source: str | bytes) -> Document:
    """Parse a Markdown file with YAML front matter into a Document; problems become findings."""
    findings: list[Finding] = []
    if isinstance(source, bytes):
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            findings.append(Finding(path, 1, "encoding", f"not UTF-8 text ({exc.reason})"))
            text = source.decode("utf-8", errors="replace")
    else:
        text = source
    source = text.removeprefix("\ufeff")
    kind = kind_for_path(path)
    front, body, body_line = split_front_matter(source)
    raw_meta, meta_lines = _load_front_matter(path, front, findings)
    doc = Document(path, kind, None, raw_meta, "", body, body_line, findings=findings)
    doc.meta_lines = meta_lines
    if kind is not None:
        _validate_meta(doc, front is not None)
    _read_structure(doc)
    title = raw_meta.get("title")
    if doc.meta:
        doc.title = doc.meta.title
    elif isinstance(title, str) and title:
        doc.title = title
    else:
        first = next((s for s in doc.sections if s.level == 1), None)
        doc.title = first.title if first else path.rsplit("/", 1)[-1].removesuffix(".md")
    return doc


def _load_front_matter(
    path: str, front: str | None, findings: list[Finding]
) -> tuple[dict[str, Any], dict[str, int]]:
    if front is None:
        return {}, {}
    lines: dict[str, int] = {}
    for number, text in enumerate(front.splitlines(), start=2):
        match = _KEY_LINE.match(text)
        if match:
            lines.setdefault(match.group(1), number)
    try:
        loaded = load_yaml(front)
    except yaml.YAMLError as exc:
        line, message = yaml_problem(exc)
        findings.append(Finding(path, line + 2, "front-matter-yaml", message))
        return {}, lines
    if loaded is None:
        return {}, lines
    if not isinstance(loaded, dict):
        findings.append(Finding(path, 2, "front-matter-yaml", "front matter must be a mapping of fields"))
        return {}, lines
    return {str(k): v for k, v in loaded.items()}, lines


def _validate_meta(doc: Document, has_front_matter: bool) -> None:
    assert doc.kind is not None
    if not has_front_matter:
        doc.findings.append(
            Finding(doc.path, 1, "front-matter-missing", "no YAML front matter (--- ... ---)")
        )
        return
    if any(f.rule == "front-matter-yaml" for f in doc.findings):
        return
    try:
        doc.meta = META_MODELS[doc.kind].model_validate(doc.raw_meta)  # type: ignore[assignment]
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            where = ".".join(str(part) for part in error["loc"]) or "front matter"
            message = error["msg"]
            if error["type"] == "missing":
                message = "required field is missing"
            elif error["type"] == "extra_forbidden":
                message = "unknown field"
            doc.findings.append(Finding(doc.path, doc.line_of_key(key), "schema", f"{where}: {message}"))


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def _read_structure(doc: Document) -> None:
    tokens = _MD.parse(doc.body)
    offset = doc.body_line
    seen: set[str] = set()
    headings: list[tuple[int, str, str, int]] = []
    texts: list[tuple[int, str]] = []
    for i, token in enumerate(tokens):
        line = offset + (token.map[0] if token.map else 0)
        if token.type == "heading_open":
            title = _inline_text(tokens[i + 1])
            headings.append((int(token.tag[1]), title, heading_anchor(title, seen), line))
        elif token.type == "inline":
            if i > 0 and tokens[i - 1].type == "heading_open":
                continue
            texts.append((line, _inline_text(token)))
            for child in token.children or []:
                href = child.attrGet("href") if child.type == "link_open" else child.attrGet("src")
                if child.type in ("link_open", "image") and isinstance(href, str):
                    doc.links.append(Link(href, line))
        elif token.type in ("fence", "code_block"):
            texts.append((line, token.content))
    last_line = offset + doc.body.count("\n") + 1
    first_heading = headings[0][3] if headings else last_line + 1
    doc.intro = "\n".join(t for ln, t in texts if ln < first_heading)
    for n, (level, title, anchor, line) in enumerate(headings):
        end = headings[n + 1][3] if n + 1 < len(headings) else last_line + 1
        text = "\n".join(t for ln, t in texts if line < ln < end)
        doc.sections.append(Section(level, title, anchor, line, end, text))
    for number, text in enumerate(doc.body.splitlines(), start=offset):
        for match in PLACEHOLDER_RE.finditer(text):
            doc.placeholders.append(Placeholder(match.group(1), number))
    if doc.kind is Kind.SCRIPT:
        for section in doc.sections:
            if section.level != 2:
                continue
            targets = tuple(
                (link.href[1:], link.line)
                for link in doc.links
                if link.href.startswith("#") and section.line <= link.line < section.end_line
            )
            doc.steps.append(Step(section.anchor, section.title, section.line, targets))
