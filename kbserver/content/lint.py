"""Lint: schema, ids, links and anchors, script placeholders and steps, translations, review dates."""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Callable, Mapping
from datetime import date

from kbserver.content.corpus import Corpus
from kbserver.content.model import (
    ID_PATTERNS,
    ID_PREFIXES,
    PAGE_NAMES,
    Document,
    Finding,
    Kind,
    ScriptMeta,
)

# Answers "has the source at path changed since commit?"; None when it cannot tell.
StaleCheck = Callable[[str, str], bool | None]


def lint_corpus(
    corpus: Corpus,
    today: date,
    former_ids: Mapping[str, str] | None = None,
    is_stale: StaleCheck | None = None,
    id_paths: Mapping[str, list[str]] | None = None,
) -> list[Finding]:
    """Every finding for the corpus, sorted by file and line.

    id_paths, when the corpus holds only some documents, gives the paths of every id in the whole content.
    """
    findings: list[Finding] = []
    ids: dict[str, list[str]] = {k: [d.path for d in v] for k, v in corpus.by_id().items()}
    for doc_id, paths in (id_paths or {}).items():
        ids[doc_id] = sorted(set(ids.get(doc_id, [])) | set(paths))
    for doc in corpus.documents.values():
        findings.extend(doc.findings)
        findings.extend(_check_id(doc, ids, former_ids or {}))
        findings.extend(_check_reserved_name(doc))
        findings.extend(_check_links(doc, corpus))
        findings.extend(_check_schemes(doc))
        if isinstance(doc.meta, ScriptMeta):
            findings.extend(_check_script(doc, doc.meta))
        findings.extend(_check_translation(doc, ids, corpus, is_stale))
        if doc.meta and doc.meta.status == "active" and doc.meta.review_by < today:
            findings.append(
                Finding(
                    doc.path,
                    doc.line_of_key("review_by"),
                    "review-overdue",
                    f"review_by {doc.meta.review_by.isoformat()} has passed (owner: {doc.meta.owner})",
                    "warning",
                )
            )
    return sorted(findings, key=lambda f: (f.path, f.line, f.rule))


def _check_id(doc: Document, ids: dict[str, list[str]], former: Mapping[str, str]) -> list[Finding]:
    if doc.kind is None:
        return []
    line = doc.line_of_key("id")
    doc_id = doc.doc_id
    if doc_id is None:
        return [] if doc.findings else [Finding(doc.path, line, "schema", "id: required field is missing")]
    out = []
    if not re.match(ID_PATTERNS[doc.kind], doc_id):
        out.append(
            Finding(
                doc.path,
                line,
                "id-format",
                f"id {doc_id!r} does not match the {doc.kind} folder: "
                f"expected {ID_PREFIXES[doc.kind]}<number>",
            )
        )
    others = [path for path in ids.get(doc_id, []) if path != doc.path]
    if others:
        out.append(
            Finding(doc.path, line, "duplicate-id", f"id {doc_id} is also used by {', '.join(others)}")
        )
    if doc_id in former and former[doc_id] != doc.path:
        out.append(
            Finding(doc.path, line, "id-reused", f"id {doc_id} belonged to the deleted {former[doc_id]}")
        )
    return out


def _check_reserved_name(doc: Document) -> list[Finding]:
    """An article saved as index.md, tags.md or README.md is a navigation page: never indexed nor searched."""
    name = doc.path.rsplit("/", 1)[-1]
    if name not in PAGE_NAMES or "id" not in doc.raw_meta:
        return []
    folder = doc.path.rsplit("/", 2)[-2] if doc.path.count("/") > 1 else "folder"
    message = (
        f"{name} is a navigation page, so this article (id {doc.raw_meta['id']}) is neither indexed nor "
        f"searched: rename it, e.g. to {folder}-{name}"
    )
    return [Finding(doc.path, doc.line_of_key("id"), "reserved-name", message, "warning")]


def _check_links(doc: Document, corpus: Corpus) -> list[Finding]:
    out = []
    for link in doc.links:
        if not link.is_internal:
            continue
        target, _, anchor = link.href.partition("#")
        if doc.kind is Kind.SCRIPT and not target:
            continue  # step links are checked with the script's steps
        path = posixpath.normpath(posixpath.join(posixpath.dirname(doc.path), target)) if target else doc.path
        if path not in corpus.files:
            out.append(Finding(doc.path, link.line, "broken-link", f"link target {target!r} does not exist"))
            continue
        linked = corpus.documents.get(path)
        if anchor and linked and anchor not in {s.anchor for s in linked.sections}:
            out.append(
                Finding(
                    doc.path, link.line, "broken-anchor", f"{target or 'this page'} has no heading #{anchor}"
                )
            )
    return out


# Where a link or image destination starts: [text](url, a reference definition [ref]: url, an autolink <url>,
# and attr_list's href=/src=. Content is checked as written; the renderer neutralises whatever gets through.
_DESTINATION = re.compile(
    r"""(?:\]\(\s*<?|^\s{0,3}\[[^\]]+\]:\s*<?|<|\b(?:href|src)\s*=\s*["']?)([^\s)>"']+)""", re.IGNORECASE
)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:")


def _check_schemes(doc: Document) -> list[Finding]:
    out = []
    for number, text in enumerate(doc.body.splitlines(), start=doc.body_line):
        for match in _DESTINATION.finditer(text):
            target = _CONTROL.sub("", html.unescape(match.group(1))).lower()
            scheme = next((s for s in UNSAFE_SCHEMES if target.startswith(s)), None)
            if scheme:
                message = f"link to a {scheme} URL: only http(s), mailto, tel and relative links are allowed"
                out.append(Finding(doc.path, number, "unsafe-url", message))
    return out


def _check_script(doc: Document, meta: ScriptMeta) -> list[Finding]:
    out = []
    declared = {v.name for v in meta.variables}
    used = set()
    for placeholder in doc.placeholders:
        used.add(placeholder.name)
        if placeholder.name not in declared:
            out.append(
                Finding(
                    doc.path,
                    placeholder.line,
                    "undeclared-placeholder",
                    f"{{{{ {placeholder.name} }}}} is not declared in variables",
                )
            )
    for name in sorted(declared - used):
        out.append(
            Finding(
                doc.path, doc.line_of_key("variables"), "unused-variable", f"{name} is never used", "warning"
            )
        )
    steps = doc.steps
    if not steps:
        return [*out, Finding(doc.path, doc.body_line, "script-steps", "a script needs at least one ## step")]
    anchors = {s.anchor: n for n, s in enumerate(steps)}
    for step in steps:
        for target, line in step.targets:
            if target not in anchors:
                out.append(
                    Finding(doc.path, line, "missing-step", f"link to step #{target}, which does not exist")
                )
    reached = _reachable(steps, anchors)
    for n, step in enumerate(steps):
        if n not in reached:
            out.append(
                Finding(
                    doc.path,
                    step.line,
                    "unreachable-step",
                    f"step {step.title!r} cannot be reached: no step links to it and the one before branches",
                )
            )
    return out


def _reachable(steps: list, anchors: dict[str, int]) -> set[int]:  # type: ignore[type-arg]
    """Steps reachable from the first: a step with links goes to them, otherwise to the next step."""
    seen: set[int] = set()
    todo = [0]
    while todo:
        n = todo.pop()
        if n in seen or n >= len(steps):
            continue
        seen.add(n)
        targets = [anchors[t] for t, _ in steps[n].targets if t in anchors]
        todo.extend(targets if steps[n].targets else [n + 1])
    return seen


def _check_translation(
    doc: Document, ids: dict[str, list[str]], corpus: Corpus, is_stale: StaleCheck | None
) -> list[Finding]:
    meta = doc.meta
    if meta is None or not meta.translation_of:
        return []
    line = doc.line_of_key("translation_of")
    sources = ids.get(meta.translation_of)
    if not sources:
        return [Finding(doc.path, line, "translation-source", f"source {meta.translation_of} does not exist")]
    source_path = sources[0]
    source = corpus.documents.get(source_path)
    if source and source.meta and source.meta.lang == meta.lang:
        return [
            Finding(
                doc.path, line, "translation-source", f"source {meta.translation_of} is in the same language"
            )
        ]
    if not meta.source_commit:
        return []  # source_commit is optional: an unpinned translation is not checked for staleness
    stale = is_stale(source_path, meta.source_commit) if is_stale else None
    if stale:
        return [
            Finding(
                doc.path,
                doc.line_of_key("source_commit"),
                "translation-stale",
                f"translation may be stale: {source_path} changed since {meta.source_commit[:10]}",
                "warning",
            )
        ]
    return []
