"""Third-party Markdown made into articles: product front matter, fresh ids, safe names, links that follow.

Pure: it reads (path, bytes) pairs and returns the files to write. Reading the folder, linting the result and
opening the change request are the caller's (kbserver/content/opening.py, with kbserver/content/checks.py).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml
from pydantic import ValidationError

from kbserver.content.assets import ASSET_TYPES, suffix
from kbserver.content.model import FOLDERS, ID_PREFIXES, PAGE_NAMES, ArticleMeta, Finding, Kind
from kbserver.content.parser import markdown, split_front_matter
from kbserver.content.slug import slug
from kbserver.content.yamltext import load_yaml, yaml_problem
from kbserver.errors import InvalidInput

MARKDOWN_TYPES = (".md", ".markdown")
RESERVED_STEMS = {name.lower().removesuffix(".md") for name in PAGE_NAMES}
# Front-matter keys kept at the top when their value is valid for the product. A foreign id, translation_of or
# source_commit names documents of the other system, so those always go under meta.
PRODUCT_KEYS = set(ArticleMeta.model_fields) - {"id", "translation_of", "source_commit", "meta"}
_DESTINATION = re.compile(r"(\]\(\s*<?|^\s{0,3}\[[^\]]+\]:\s*<?)([^\s)>]+)")
_MD = markdown()


@dataclass(frozen=True)
class ImportOptions:
    """What fills the front matter the source lacks; the category takes the files at the folder's top."""

    owner: str
    audience: list[str]
    review_by: date
    lang: str
    category: str


@dataclass(frozen=True)
class ImportedDocument:
    source: str
    path: str
    doc_id: str
    title: str


@dataclass
class ImportPlan:
    """The files to add (content path -> bytes), the documents among them, what was left out and why."""

    files: dict[str, bytes] = field(default_factory=dict)
    documents: list[ImportedDocument] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


class _NoAliases(yaml.SafeDumper):
    """Content YAML may not hold anchors or aliases, so a value used twice is written out twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def read_folder(root: Path) -> list[tuple[str, bytes]]:
    """Every file below root as (relative path, bytes); a symbolic link that leaves root is refused."""
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a folder")
    resolved = root.resolve()
    found = []
    for entry in sorted(root.rglob("*")):
        rel = entry.relative_to(root).as_posix()
        if entry.is_symlink() and not entry.resolve().is_relative_to(resolved):
            raise InvalidInput(
                f"{entry} is a symbolic link out of {root}: nothing is read through it", {"path": rel}
            )
        if entry.is_file():
            found.append((rel, entry.read_bytes()))
    return found


def first_free_number(ids: Iterable[str], kind: Kind = Kind.ARTICLE) -> int:
    """One more than the highest number of the kind's ids (pass every id ever used, deleted ones too)."""
    prefix = ID_PREFIXES[kind]
    numbers = [int(i[len(prefix) :]) for i in ids if i.startswith(prefix) and i[len(prefix) :].isdigit()]
    return max(numbers, default=0) + 1


def _target(source: str, category: str) -> str:
    parts = source.split("/")
    folders = [slug(p, "folder") for p in parts[:-1]] or [category]
    stem, ext = posixpath.splitext(parts[-1])
    ext = ".md" if ext.lower() in MARKDOWN_TYPES else ext.lower()
    name = slug(stem, "page")
    if ext == ".md" and name in RESERVED_STEMS:
        name = f"{folders[-1]}-{name}"  # index.md, tags.md and README.md are navigation pages on the site
    return FOLDERS[Kind.ARTICLE] + "/".join([*folders, name + ext])


def _free(path: str, taken: set[str]) -> str:
    stem, ext = posixpath.splitext(path)
    candidate, n = path, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}-{n}{ext}"
    taken.add(candidate.lower())
    return candidate


def plan_import(
    sources: Iterable[tuple[str, bytes]], options: ImportOptions, taken: Iterable[str], first_number: int
) -> ImportPlan:
    """Turn a folder's files into new content paths under docs/kb/, never reusing a path in taken."""
    plan = ImportPlan()
    existing = {p.lower() for p in taken}
    used = set(existing)
    targets: dict[str, str] = {}
    contents = dict(sources)
    for source in sorted(contents):
        if any(part.startswith(".") for part in source.split("/")):
            plan.skipped.append((source, "hidden file"))
        elif suffix(source) in MARKDOWN_TYPES or suffix(source) in ASSET_TYPES:
            targets[source] = _free(_target(source, slug(options.category, "imported")), used)
        else:
            plan.skipped.append((source, f"{suffix(source) or 'a file without a type'} is not published"))
    number = first_number
    for source, path in targets.items():
        if not path.endswith(".md"):
            plan.files[path] = contents[source]
            continue
        doc_id = f"{ID_PREFIXES[Kind.ARTICLE]}{number:04d}"
        converted = _convert(source, contents[source], path, doc_id, options, targets, plan.findings)
        if converted is not None:
            number += 1
            plan.files[path] = converted[0].encode()
            plan.documents.append(ImportedDocument(source, path, doc_id, converted[1]))
    names = {slug(s.split("/")[0], "folder"): s.split("/")[0] for s in targets if "/" in s}
    _add_category_pages(plan, existing, names)
    return plan


def _add_category_pages(plan: ImportPlan, existing: set[str], names: dict[str, str]) -> None:
    """A navigation page for each new category, listing its articles, as the seeded categories have."""
    categories: dict[str, list[ImportedDocument]] = {}
    for doc in plan.documents:
        categories.setdefault(doc.path.split("/")[2], []).append(doc)
    for category, docs in categories.items():
        folder = f"{FOLDERS[Kind.ARTICLE]}{category}/"
        if any(p.startswith(folder) for p in existing):
            continue  # the category exists already, with its own page
        entries = [f"- [{_link_text(d.title)}]({d.path.removeprefix(folder)})\n" for d in docs]
        title = _link_text(names.get(category, category.replace("-", " ").capitalize()))
        plan.files[folder + "index.md"] = f"# {title}\n\n{''.join(entries)}".encode()


def _link_text(title: str) -> str:
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", title)


def _convert(
    source: str,
    content: bytes,
    path: str,
    doc_id: str,
    options: ImportOptions,
    targets: dict[str, str],
    findings: list[Finding],
) -> tuple[str, str] | None:
    try:
        text = content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        findings.append(Finding(source, 1, "encoding", f"not UTF-8 text ({exc.reason})"))
        return None
    front, body, _ = split_front_matter(text)
    try:
        foreign = load_yaml(front) if front is not None else None
    except yaml.YAMLError as exc:
        line, message = yaml_problem(exc)
        findings.append(Finding(source, line + 2, "front-matter-yaml", message))
        return None
    if foreign is not None and not isinstance(foreign, dict):
        findings.append(Finding(source, 2, "front-matter-yaml", "front matter must be a mapping of fields"))
        return None
    foreign = {str(k): v for k, v in (foreign or {}).items()}
    tokens = _MD.parse(body)
    given = foreign.pop("title", None)
    title = str(given).strip() if given is not None and str(given).strip() else None
    heading = next((i for i, t in enumerate(tokens) if t.type == "heading_open"), None)
    code = {n for t in tokens if t.type in ("fence", "code_block") and t.map for n in range(*t.map)}
    lines = _rewrite_links(body.splitlines(keepends=True), code, source, path, targets)
    if heading is not None and tokens[heading].tag == "h1":
        text_of_h1 = _inline_text(tokens[heading + 1])
        title = title or text_of_h1
        start, end = tokens[heading].map or (0, 0)
        if " ".join(text_of_h1.split()).casefold() == " ".join(title.split()).casefold():
            lines[start:end] = []  # the H1 repeats the title the page shows above it
            if start < len(lines) and not lines[start].strip():
                del lines[start]
    title = (
        title or slug(posixpath.splitext(source.rsplit("/", 1)[-1])[0], "page").replace("-", " ").capitalize()
    )
    return _front_matter(doc_id, title, options, foreign) + "".join(lines).lstrip("\n"), title


def _inline_text(token: Any) -> str:
    return "".join(c.content for c in token.children or [] if c.type in ("text", "code_inline")).strip()


def _front_matter(doc_id: str, title: str, options: ImportOptions, foreign: dict[str, Any]) -> str:
    fields: dict[str, Any] = {
        "id": doc_id,
        "title": title,
        "lang": options.lang,
        "owner": options.owner,
        "tags": [],
        "audience": list(options.audience),
        "review_by": options.review_by,
    }
    kept = {k: v for k, v in foreign.items() if k in PRODUCT_KEYS}
    extra = {k: v for k, v in foreign.items() if k not in PRODUCT_KEYS}
    while True:  # a value the product would refuse goes under meta, and the option fills its place
        try:
            ArticleMeta.model_validate(fields | kept)
            break
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]} & kept.keys()
            if not bad:
                raise InvalidInput(f"the import options make invalid front matter: {exc}") from exc
            extra.update({k: kept.pop(k) for k in bad})
    front = fields | kept | ({"meta": extra} if extra else {})
    dumped = yaml.dump(front, Dumper=_NoAliases, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{dumped}---\n\n"


def _rewrite_links(
    lines: list[str], code: set[int], source: str, path: str, targets: dict[str, str]
) -> list[str]:
    """Point relative links between imported files at their new paths."""
    here, there = posixpath.dirname(source), posixpath.dirname(path)

    def follow(match: re.Match[str]) -> str:
        href = match.group(2)
        target, hash_, anchor = href.partition("#")
        if not target or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("/"):
            return match.group(0)
        moved = targets.get(posixpath.normpath(posixpath.join(here, unquote(target))))
        if moved is None:
            return match.group(0)
        return match.group(1) + posixpath.relpath(moved, there) + hash_ + anchor

    return [line if n in code else _DESTINATION.sub(follow, line) for n, line in enumerate(lines)]
