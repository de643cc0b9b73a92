"""`kb lint`: check a folder or a commit of the content repository."""

from __future__ import annotations

import posixpath
from datetime import date
from pathlib import Path

from kbserver.content import Corpus, Finding, lint_corpus, parse_document
from kbserver.errors import KBError, NotFound
from kbserver.repository import ContentRepository

# Per repository: the last commit scanned and the ids of the documents deleted in its history. History only
# grows, so the next scan starts from there (a submit after a merge reads a few commits, not all of them).
_FORMER_IDS: dict[str, tuple[str, dict[str, str]]] = {}


def former_ids(repo: ContentRepository, commit: str) -> dict[str, str]:
    """The ids of documents deleted in the history of commit, with their last path."""
    key = str(repo.path.resolve())
    cached = _FORMER_IDS.get(key)
    if cached and cached[0] == commit:
        return cached[1]
    resume = cached is not None and repo.is_ancestor(cached[0], commit)
    ids = dict(cached[1]) if cached and resume else {}
    for path, content in repo.deleted_files(f"{cached[0]}..{commit}" if cached and resume else commit):
        doc_id = parse_document(path, content).doc_id
        if doc_id:
            ids.setdefault(doc_id, path)
    _FORMER_IDS[key] = (commit, ids)
    return ids


def _history_checks(repo: ContentRepository, ref: str) -> tuple[dict[str, str], object]:
    former = former_ids(repo, repo.resolve(ref))

    def is_stale(path: str, commit: str) -> bool | None:
        try:
            return repo.changed_since(path, commit, ref)
        except KBError:
            return None

    return former, is_stale


def lint_directory(root: Path, today: date | None = None) -> list[Finding]:
    """Lint root/docs; history checks run too when root is a git checkout."""
    if not (root / "docs").is_dir():
        raise NotFound(f"{root} has no docs/ folder")
    corpus = Corpus.from_directory(root)
    former: dict[str, str] = {}
    is_stale = None
    if (root / ".git").exists():
        former, is_stale = _history_checks(ContentRepository(root), "HEAD")
    return lint_corpus(corpus, today or date.today(), former, is_stale)  # type: ignore[arg-type]


def lint_commit(repo: ContentRepository, ref: str, today: date | None = None) -> list[Finding]:
    """Lint the content at a branch or commit of the content repository."""
    commit = repo.resolve(ref)
    corpus = Corpus.from_files(repo.files(commit))
    former, is_stale = _history_checks(repo, commit)
    return lint_corpus(corpus, today or date.today(), former, is_stale)  # type: ignore[arg-type]


def lint_change(repo: ContentRepository, base: str, head: str, today: date | None = None) -> list[Finding]:
    """Lint what a branch changed since base, against the whole content at head, without parsing all of it.

    Only the changed documents, the documents they link to and their translation sources are parsed; the ids
    of every other document come from one `git grep` over the commit.
    """
    changed = {p for p in repo.changed_files(base, head) if p.startswith("docs/")}
    all_paths = set(repo.paths(head))
    id_paths: dict[str, list[str]] = {}
    for path, line in repo.grep_first(head, r"^id:[[:space:]]").items():
        id_paths.setdefault(line.split(":", 1)[1].strip().strip("'\""), []).append(path)
    wanted = {p for p in changed if p.endswith(".md") and p in all_paths}
    documents = {p: parse_document(p, repo.read(head, p) or b"") for p in wanted}
    for doc in list(documents.values()):
        related = {
            posixpath.normpath(posixpath.join(posixpath.dirname(doc.path), link.href.partition("#")[0]))
            for link in doc.links
            if link.is_internal and link.href.partition("#")[0].endswith(".md")
        }
        if doc.meta and doc.meta.translation_of:
            related.update(id_paths.get(doc.meta.translation_of, []))
        for path in related & all_paths - documents.keys():
            documents[path] = parse_document(path, repo.read(head, path) or b"")
    corpus = Corpus(documents=documents, files=all_paths)
    former, is_stale = _history_checks(repo, head)
    findings = lint_corpus(corpus, today or date.today(), former, is_stale, id_paths)  # type: ignore[arg-type]
    return [f for f in findings if f.path in wanted]


def stale_by_owner(repo: ContentRepository, ref: str) -> list[dict[str, object]]:
    """Documents whose review date has passed or whose translation is behind its source, grouped by owner."""
    commit = repo.resolve(ref)
    corpus = Corpus.from_files(repo.files(commit))
    owners: dict[str, list[dict[str, str]]] = {}
    for finding in lint_commit(repo, commit):
        if finding.rule not in ("review-overdue", "translation-stale"):
            continue
        doc = corpus.documents[finding.path]
        owner = doc.meta.owner if doc.meta else "?"
        owners.setdefault(owner, []).append(
            {"document_id": doc.doc_id or "", "path": doc.path, "why": finding.message}
        )
    return [{"owner": owner, "documents": docs} for owner, docs in sorted(owners.items())]
