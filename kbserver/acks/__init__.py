"""Read confirmations: operators and leads confirm that they have read each change of a chapter or script.

versions.py records each change of text on main (from git); standing.py says where each person stands on
each document; this module is what the API, the console and `kb report acks` call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa

from approval.worddiff import word_diff
from kbserver.acks import versions
from kbserver.acks.standing import AUDIENCE_ROLES, Standing, Version, load_versions, standings
from kbserver.collector import collector_paused
from kbserver.errors import Conflict, Forbidden, NotFound
from kbserver.repository import ContentRepository
from kbserver.store.schema import read_confirmations, users
from kbserver.users import User

__all__ = ["AUDIENCE_ROLES", "ReadConfirmations"]


def _page(path: str) -> str:
    rel = path.removeprefix("docs/").removesuffix(".md")
    return f"/{rel}/"


def _document(version: Version) -> dict[str, Any]:
    return {
        "document_id": version.doc_id,
        "kind": version.kind,
        "title": version.title,
        "page": _page(version.path),
        "version": version.seq,
        "commit": version.commit,
        "changed_at": version.published_at,
    }


def _person(s: Standing, document: dict[str, Any] | None = None) -> dict[str, Any]:
    """One standing as the report's row; document is _document(s.document), when the caller has it."""
    return (document or _document(s.document)) | {
        "user": s.person.name,
        "display_name": s.person.display_name,
        "role": s.person.role,
        "state": s.state,
        "confirmed_version": s.confirmed_seq or None,
        "confirmed_at": s.confirmed_at,
        "since_version": s.since.seq if s.since else None,
        "asked_at": s.asked_at,
        "due_at": s.due_at,
    }


class ReadConfirmations:
    """The versions to confirm, who confirmed them, and the report, over one state store and repository."""

    def __init__(
        self,
        engine: sa.Engine,
        repo: ContentRepository,
        branch: str,
        days: int,
        published: Callable[[], str | None],
    ) -> None:
        self.engine, self.repo, self.branch, self.days = engine, repo, branch, days
        # Operators are asked to confirm what they can read: the published commit, not main's head (a commit
        # held back by `kb verify` asks nobody until it is published).
        self.published = published

    def catch_up(self) -> int:
        """Record the changes the published commit gained since the last look; returns how many versions
        were new."""
        return versions.catch_up(self.engine, self.repo, self.branch, self.published())

    def _standings(self, user_id: int | None = None, doc_id: str | None = None) -> list[Standing]:
        self.catch_up()
        with self.engine.connect() as conn:
            return standings(conn, self.days, datetime.now(UTC), user_id, doc_id)

    def documents(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Per changed chapter and script: how many of its audience confirmed, are pending, are overdue;
        the documents with the most overdue first."""
        self.catch_up()
        with self.engine.connect() as conn:
            current = load_versions(conn).current()
            found = standings(conn, self.days, datetime.now(UTC), when=False)
        counts = Counter((s.document.doc_id, s.state) for s in found)
        rows = []
        for version in current:
            if kind and version.kind != kind:
                continue
            tally = {state: counts[(version.doc_id, state)] for state in ("confirmed", "pending", "overdue")}
            rows.append(
                _document(version)
                | {"audience": list(version.audience), "asked": sum(tally.values())}
                | tally
            )
        rows.sort(key=lambda r: (-r["overdue"], -r["pending"], r["document_id"]))
        return rows

    def people(self, doc_id: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """Each asked person's standing per document (one document's, one state's), overdue first."""
        # A row per person and document: tens of thousands of objects, without cycles (see collector.py).
        with collector_paused():
            found = self._standings(doc_id=doc_id)
            # standings come by document, then name: each document's rows are put overdue, pending, confirmed.
            rows: list[dict[str, Any]] = []
            for _, run in groupby(found, key=lambda s: s.document.doc_id):
                group = list(run)
                document = _document(group[0].document)
                for wanted in ("overdue", "pending", "confirmed"):
                    if state is None or state == wanted:
                        rows += [_person(s, document) for s in group if s.state == wanted]
            return rows

    def due(self, user: User, doc_id: str | None = None) -> list[dict[str, Any]]:
        """What user has not confirmed yet, the oldest change first."""
        found = [s for s in self._standings(user.id, doc_id) if s.state != "confirmed"]
        found.sort(key=lambda s: (s.asked_at or s.document.published_at, s.document.doc_id))
        return [_person(s) for s in found]

    def ask(self, user: User, doc_id: str) -> dict[str, Any]:
        """One document user has not confirmed, with the word diff of what changed since their version."""
        found = [s for s in self._standings(user.id, doc_id) if s.state != "confirmed"]
        if not found:
            raise NotFound(f"{user.name} has nothing to confirm in {doc_id}")
        return self._with_diff(found[0])

    def due_with_diffs(self, user: User, limit: int = 20) -> list[dict[str, Any]]:
        """The first limit documents user has not confirmed, each with its word diff (the console's home)."""
        found = [s for s in self._standings(user.id) if s.state != "confirmed"]
        found.sort(key=lambda s: (s.asked_at or s.document.published_at, s.document.doc_id))
        return [self._with_diff(s) for s in found[:limit]]

    def _with_diff(self, standing: Standing) -> dict[str, Any]:
        now, since = standing.document, standing.since
        old = self.repo.read(since.commit, since.path) if since else None
        new = self.repo.read(now.commit, now.path)
        lines = word_diff(
            old.decode("utf-8", "replace") if old is not None else None,
            new.decode("utf-8", "replace") if new is not None else None,
        )
        diff = [
            None
            if line is None
            else {
                "kind": line.kind,
                "old_no": line.old_no,
                "new_no": line.new_no,
                "segments": [{"kind": s.kind, "text": s.text} for s in line.segments],
            }
            for line in lines
        ]
        return _person(standing) | {"since_commit": since.commit if since else None, "lines": diff}

    def confirm(self, user: User, doc_id: str, commit: str) -> tuple[dict[str, Any], bool]:
        """Record that user read doc_id's version at commit (only the current version, only in its
        audience); returns the confirmation and whether it is new (a repeat returns the first)."""
        self.catch_up()
        with self.engine.connect() as conn:
            known = load_versions(conn, doc_id).current()
        if not known:
            raise NotFound(f"no chapter or chat script {doc_id} on {self.branch}")
        version = known[0]
        if user.role.value not in version.roles:
            levels = ", ".join(version.audience)
            raise Forbidden(f"{doc_id} is for {levels}: {user.role.value}s are not asked to confirm it")
        if commit != version.commit:
            raise Conflict(
                f"{doc_id} has changed since: read its current version and confirm that one",
                {"current_commit": version.commit, "version": version.seq},
            )
        c = read_confirmations.c
        mine = sa.and_(c.user_id == user.id, c.doc_id == doc_id, c.seq == version.seq)
        with self.engine.connect() as conn:
            if conn.scalar(sa.select(c.id).where(mine)) is not None:
                return self._get(conn, mine), False
        record: dict[str, Any] = {"user_id": user.id, "doc_id": doc_id, "seq": version.seq, "commit": commit}
        created = True
        try:
            with self.engine.begin() as conn:
                record["confirmed_at"] = datetime.now(UTC)
                conn.execute(read_confirmations.insert().values(record))
        except sa.exc.IntegrityError:
            created = False  # the same person confirmed it at the same moment, in another tab
        with self.engine.connect() as conn:
            return self._get(conn, mine), created

    def confirmation(self, confirmation_id: int) -> dict[str, Any]:
        """One recorded confirmation."""
        with self.engine.connect() as conn:
            return self._get(conn, read_confirmations.c.id == confirmation_id)

    @staticmethod
    def _get(conn: sa.Connection, where: sa.ColumnElement[bool]) -> dict[str, Any]:
        c = read_confirmations.c
        query = sa.select(c.id, c.doc_id, c.seq, c.commit, c.confirmed_at, users.c.name).join(
            users, users.c.id == c.user_id
        )
        row = conn.execute(query.where(where)).first()
        if row is None:
            raise NotFound("no such confirmation")
        return {
            "id": row.id,
            "document_id": row.doc_id,
            "version": row.seq,
            "commit": row.commit,
            "user": row.name,
            "confirmed_at": row.confirmed_at,
        }
