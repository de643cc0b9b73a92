"""Lint the content repository as a folder, a commit, a change or a draft, with the checks history needs."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from approval.policy import POLICY_FILE, lint_policy
from kbserver.content import Corpus, Document, Finding, lint_corpus, parse_document
from kbserver.content.assets import asset_problem
from kbserver.errors import KBError, NotFound
from kbserver.repository import ContentRepository
from kbserver.siteconfig import CONFIG_FILE, read_site_config

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


def file_findings(paths: Iterable[str], symlinks: Iterable[str], site_config: str | None) -> list[Finding]:
    """Findings on the content's files themselves: links, types the site does not publish, mkdocs.yml."""
    links = set(symlinks)
    findings = [
        Finding(path, 1, "symlink", "symbolic links are not allowed in content: commit the file itself")
        for path in sorted(links)
    ]
    for path in sorted(set(paths) - links):
        problem = asset_problem(path) if path.startswith("docs/") else None
        if problem:
            findings.append(Finding(path, 1, "asset-type", problem))
    if site_config is not None:
        findings.extend(read_site_config(site_config, CONFIG_FILE).findings)
    return findings


def lint_directory(root: Path, today: date | None = None) -> list[Finding]:
    """Lint root/docs and root/mkdocs.yml; history checks run too when root is a git checkout."""
    if not (root / "docs").is_dir():
        raise NotFound(f"{root} has no docs/ folder")
    entries = sorted((root / "docs").rglob("*"))
    links = [p.relative_to(root).as_posix() for p in entries if p.is_symlink()]
    files = [p for p in entries if p.is_file() and not p.is_symlink()]  # a link is never read through
    corpus = Corpus.from_files((p.relative_to(root).as_posix(), p.read_bytes()) for p in files)
    former: dict[str, str] = {}
    is_stale = None
    if (root / ".git").exists():
        former, is_stale = _history_checks(ContentRepository(root), "HEAD")
    config = root / CONFIG_FILE
    if config.is_symlink():
        links.append(CONFIG_FILE)
    text = config.read_text("utf-8", "replace") if config.is_file() and not config.is_symlink() else None
    found = lint_corpus(corpus, today or date.today(), former, is_stale)  # type: ignore[arg-type]
    policy = root / POLICY_FILE
    if policy.is_file() and not policy.is_symlink():
        found += lint_policy(policy.read_bytes())
    return _sorted(found + file_findings(corpus.files, links, text))


def lint_commit(repo: ContentRepository, ref: str, today: date | None = None) -> list[Finding]:
    """Lint the content at a branch or commit of the content repository."""
    commit = repo.resolve(ref)
    links = repo.symlinks(commit, prefix="")
    corpus = Corpus.from_files((p, c) for p, c in repo.files(commit) if p not in links)
    corpus.files.update(p for p in links if p.startswith("docs/"))
    former, is_stale = _history_checks(repo, commit)
    found = lint_corpus(corpus, today or date.today(), former, is_stale)  # type: ignore[arg-type]
    policy = None if POLICY_FILE in links else repo.read(commit, POLICY_FILE)
    if policy is not None:
        found += lint_policy(policy)
    return _sorted(found + file_findings(corpus.files, links, _site_config(repo, commit, links)))


def _site_config(repo: ContentRepository, commit: str, links: list[str]) -> str | None:
    data = None if CONFIG_FILE in links else repo.read(commit, CONFIG_FILE)
    return data.decode("utf-8", "replace") if data is not None else None


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.path, f.line, f.rule))


def lint_change(repo: ContentRepository, base: str, head: str, today: date | None = None) -> list[Finding]:
    """Lint what a branch changed since base, against the whole content at head, without parsing all of it.

    Only the changed documents, the documents they link to and their translation sources are parsed; the ids
    of every other document come from one `git grep` over the commit.
    """
    every_change = set(repo.changed_files(base, head))
    changed = {p for p in every_change if p.startswith("docs/")}
    all_paths = set(repo.paths(head))
    links = repo.symlinks(head, prefix="")
    wanted = {p for p in changed if p.endswith(".md") and p in all_paths and p not in links}
    documents = {p: parse_document(p, repo.read(head, p) or b"") for p in wanted}
    findings = _lint_some(repo, head, documents, all_paths, _id_paths(repo, head), today)
    config = _site_config(repo, head, links) if CONFIG_FILE in every_change else None
    files = file_findings(every_change & (all_paths | set(links)), set(links) & every_change, config)
    return _sorted(findings + files)


def lint_draft(
    repo: ContentRepository, commit: str, path: str, text: str, today: date | None = None
) -> tuple[Document, list[Finding]]:
    """Lint one document as the editor holds it, in place of path at commit (the editor's live check).

    As for a change request, only the draft and the documents it links to are parsed, not all of the content.
    """
    draft = parse_document(path, text)
    all_paths = set(repo.paths(commit)) | {path}
    # The ids of every other document; what path held at commit is replaced by the draft.
    id_paths = {
        doc_id: rest
        for doc_id, paths in _id_paths(repo, commit).items()
        if (rest := [p for p in paths if p != path])
    }
    return draft, _sorted(_lint_some(repo, commit, {path: draft}, all_paths, id_paths, today))


def _id_paths(repo: ContentRepository, commit: str) -> dict[str, list[str]]:
    # One `git grep` for every document's id, instead of parsing every document.
    found: dict[str, list[str]] = {}
    for path, line in repo.grep_first(commit, r"^id:[[:space:]]").items():
        found.setdefault(line.split(":", 1)[1].strip().strip("'\""), []).append(path)
    return found


def _lint_some(
    repo: ContentRepository,
    head: str,
    wanted: dict[str, Document],
    all_paths: set[str],
    id_paths: dict[str, list[str]],
    today: date | None,
) -> list[Finding]:
    """The findings of the wanted documents against the content at head, parsing only what they link to and
    the sources they translate besides them."""
    documents = dict(wanted)
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
