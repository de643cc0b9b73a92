"""The versions operators are asked to confirm: each change of a chapter's or chat script's text on main.

Git is the truth; the state store keeps what git's first-parent history says, so that the report is a few
indexed reads. Only a change of the text counts (the title or the body): a merge that left the document as it
was, or changed only its front matter (a review date, the owner), asks nobody again; the latest row follows
the document's path, audience and status all the same. The seed (the repository's first commit) asks
nobody either: it is the content every operator starts from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from kbserver.content import Kind, parse_document
from kbserver.content.model import CommonMeta, kind_for_path
from kbserver.repository import ContentRepository
from kbserver.store.database import writing
from kbserver.store.schema import document_versions, version_scan

TRACKED = ("docs/procedures/", "docs/scripts/")
_KINDS = (Kind.PROCEDURE, Kind.SCRIPT)
_SCAN_LOCK = 4242009  # PostgreSQL advisory lock: one process records versions at a time


@dataclass
class _Latest:
    """A document's latest version while a scan runs: a stored row (with its id) or one to insert."""

    row: dict[str, Any]
    changed: bool = False

    @property
    def stored(self) -> bool:
        """Whether the row is in the store already."""
        return "id" in self.row


def text_digest(title: str, body: str) -> str:
    """What identifies a version's text: its title and body, not its front matter."""
    return hashlib.sha256(f"{title}\n\x00{body}".encode()).hexdigest()


def catch_up(engine: sa.Engine, repo: ContentRepository, branch: str, head: str | None) -> int:
    """Record the versions branch gained up to head (its published commit) since the last scan; returns how
    many (cheap if head did not move)."""
    if head is None:
        return 0
    with engine.connect() as conn:
        seen = conn.scalar(sa.select(version_scan.c.commit).where(version_scan.c.branch == branch))
    if seen == head:
        return 0
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_SCAN_LOCK})"))
        else:
            # A write first, so that SQLite takes its write lock before this transaction reads anything.
            mark = version_scan.update().where(version_scan.c.branch == branch)
            conn.execute(mark.values(branch=version_scan.c.branch))
        seen = conn.scalar(sa.select(version_scan.c.commit).where(version_scan.c.branch == branch))
        if seen == head:
            return 0  # another process recorded them meanwhile
        scan = _Scan(conn, repo)
        if seen is None:
            for sha, parents, date, changes in repo.first_parent_changes(head, TRACKED):
                scan.commit(sha, date, changes, asks=bool(parents))
        elif repo.is_ancestor(seen, head):
            for sha, _parents, date, changes in repo.first_parent_changes(f"{seen}..{head}", TRACKED):
                scan.commit(sha, date, changes, asks=True)
        else:  # main was rewritten (a restore): compare what it holds now with what the store knows
            scan.commit(head, repo.log(head, limit=1)[0].date, scan.resync(head), asks=True)
        scan.write()
        if seen is None:
            conn.execute(version_scan.insert().values(branch=branch, commit=head))
        else:
            conn.execute(version_scan.update().where(version_scan.c.branch == branch).values(commit=head))
        return scan.added


class _Scan:
    """One pass over commits, oldest first, kept in memory and written at the end."""

    FIELDS = ("kind", "path", "title", "audience", "active")  # what a front-matter change updates

    def __init__(self, conn: sa.Connection, repo: ContentRepository) -> None:
        self.conn, self.repo = conn, repo
        rows = conn.execute(sa.select(document_versions).where(document_versions.c.latest)).mappings()
        self.latest = {row["doc_id"]: _Latest(dict(row)) for row in rows}
        self.new: list[dict[str, Any]] = []

    @property
    def added(self) -> int:
        """How many versions the scan found."""
        return len(self.new)

    def resync(self, head: str) -> list[tuple[str, str]]:
        """Every tracked file at head as modified, and every known document missing there as deleted."""
        present = [p for prefix in TRACKED for p in self.repo.paths(head, prefix)]
        gone = {d.row["path"] for d in self.latest.values()} - set(present)
        return [("M", p) for p in present] + [("D", p) for p in sorted(gone)]

    def commit(self, sha: str, date: str, changes: list[tuple[str, str]], asks: bool) -> None:
        """Take in one commit's changes to tracked files."""
        touched = set()
        for status, path in sorted(changes, key=lambda c: c[0] == "D"):  # a rename's add before its delete
            if kind_for_path(path) not in _KINDS:
                continue
            if status == "D":
                for doc_id, gone in self.latest.items():
                    if gone.row["path"] == path and doc_id not in touched:
                        gone.row["active"], gone.changed = False, True
                continue
            source = self.repo.read(sha, path)
            doc = parse_document(path, source) if source is not None else None
            if doc is None or not isinstance(doc.meta, CommonMeta) or doc.kind not in _KINDS:
                continue  # lint refuses such a file at submit; it asks nothing
            meta = doc.meta
            touched.add(meta.id)
            values = {
                "kind": str(doc.kind),
                "path": path,
                "title": meta.title[:500],
                "audience": ",".join(sorted(set(meta.audience))),
                "active": meta.status == "active",
            }
            digest = text_digest(meta.title, doc.body)
            known = self.latest.get(meta.id)
            if known is not None and known.row["digest"] == digest:
                known.row |= values
                known.changed = True
                continue
            row = values | {
                "doc_id": meta.id,
                "seq": known.row["seq"] + 1 if known else 1,
                "commit": sha,
                "digest": digest,
                "asks": asks,
                "published_at": datetime.fromisoformat(date),
                "latest": False,
            }
            self.new.append(row)
            self.latest[meta.id] = _Latest(row)

    def write(self) -> None:
        """Insert the new versions, and bring the stored latest rows up to date."""
        replaced = sorted({row["doc_id"] for row in self.new})
        if replaced:
            self.conn.execute(
                document_versions.update()
                .where(document_versions.c.latest, document_versions.c.doc_id.in_(replaced))
                .values(latest=False)
            )
        for known in self.latest.values():
            if not known.stored:
                known.row["latest"] = True
            elif known.changed:
                values = {k: known.row[k] for k in self.FIELDS}
                self.conn.execute(
                    document_versions.update().where(document_versions.c.id == known.row["id"]).values(values)
                )
        if self.new:
            self.conn.execute(document_versions.insert(), self.new)
