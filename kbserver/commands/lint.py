"""`kb lint`: check a folder or a commit of the content repository."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from kbserver.content import Corpus, Finding, lint_corpus, parse_document
from kbserver.errors import KBError, NotFound
from kbserver.repository import ContentRepository


def _history_checks(repo: ContentRepository, ref: str) -> tuple[dict[str, str], object]:
    former: dict[str, str] = {}
    for path, content in repo.deleted_files(ref):
        doc_id = parse_document(path, content).doc_id
        if doc_id:
            former.setdefault(doc_id, path)

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
