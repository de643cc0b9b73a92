"""What the procedures manual says about itself: its version, revision history and approval record.

Everything here is read from git (the first-parent history of the approved branch and the merges' final
trailer blocks) and cross-checked as `kb verify` does, with the state store when there is one. A version of
the manual is the state of `docs/procedures/` after one commit that changed it: the seed, or the merge of a
change request. Its number counts those commits, so it never changes once given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from approval.model import Verdict
from approval.records import ChangeRecords
from approval.trailers import read_merge
from approval.verify import judge_approvals, verify_history
from kbserver.errors import NotFound
from kbserver.repository import ContentRepository

PROCEDURES = "docs/procedures/"
MEANING = "approved"  # the meaning of every signature the record lists (21 CFR 11.50(a)(3))


def utc(stamp: str | datetime) -> str:
    """An ISO date and time in UTC to the second, as the manual prints and records it."""
    moment = datetime.fromisoformat(stamp) if isinstance(stamp, str) else stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Revision:
    """One commit that changed the procedures: a row of the revision history."""

    version: int
    commit: str
    date: str
    change_request: str  # "CR-12", or "" for the seed or a commit made around the workflow
    title: str
    paths: list[str]
    trailers: list[tuple[str, str]]


@dataclass(frozen=True)
class Signature:
    """One Approved-by trailer of the version's merge, as the approval record prints it."""

    name: str
    email: str
    role: str
    signed_at: str
    counted: bool
    reason: str  # why it does not count; empty when it does

    def as_json(self) -> dict[str, Any]:
        """The signature in the attached approval record."""
        return {
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "meaning": MEANING,
            "signed_at": self.signed_at,
            "counted": self.counted,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ManualRecord:
    """The version of the manual at a commit, its history and who approved it."""

    revisions: list[Revision]  # oldest first; the last one is this version
    signatures: list[Signature]
    violations: list[str]  # what `kb verify` reports about the commits that changed the procedures

    @property
    def current(self) -> Revision:
        """The revision this version is."""
        return self.revisions[-1]

    @property
    def verified(self) -> bool:
        """Whether every change to the procedures up to this version passed `kb verify`."""
        return not self.violations

    def as_json(self, document: str, desk: str, client: str) -> dict[str, Any]:
        """The approval record attached inside the PDF, machine-readable."""
        now = self.current
        return {
            "document": document,
            "desk": desk,
            "client": client,
            "version": now.version,
            "commit": now.commit,
            "effective": now.date,
            "change_request": now.change_request,
            "title": now.title,
            "trailers": [[key, value] for key, value in now.trailers],
            "approvals": [s.as_json() for s in self.signatures],
            "verified": self.verified,
            "violations": self.violations,
        }


def revisions(repo: ContentRepository, ref: str) -> list[Revision]:
    """Every commit up to ref that changed the procedures, oldest first, numbered from 1."""
    found = repo.path_history(repo.resolve(ref), PROCEDURES)
    if not found:
        raise NotFound(f"{ref} has no procedures manual: nothing under {PROCEDURES}")
    rows = []
    for number, (sha, _parents, date, subject, trailers, paths) in enumerate(reversed(found), start=1):
        merge = read_merge(trailers)
        rows.append(
            Revision(
                version=number,
                commit=sha,
                date=utc(date),
                change_request=f"CR-{merge.number}" if merge else "",
                title=subject.removeprefix(f"Merge CR-{merge.number}: " if merge else ""),
                paths=paths,
                trailers=trailers,
            )
        )
    return rows


def _signatures(
    repo: ContentRepository, records: ChangeRecords | None, revision: Revision, parents: list[str]
) -> list[Signature]:
    merge = read_merge(revision.trailers)
    if merge is None or len(parents) != 2:
        return []
    base, head = parents
    change = None
    reviews = []
    opener = merge.opener.email if merge.opener else ""
    if records is not None:
        try:
            change = records.get(merge.number)
            reviews = records.reviews(merge.number)
            opener = records.person(change.author)[1]
        except NotFound:
            change = None
    judged = judge_approvals(merge, head, repo.author_emails(base, head), opener, change, reviews)
    signatures = []
    for person, why in judged:
        # A signature's date and time is when the approval was recorded; git alone knows only the merge's.
        recorded = [
            r.created_at
            for r in reviews
            if r.verdict is Verdict.APPROVE
            and r.head_commit == head
            and r.email.lower() == person.email.lower()
        ]
        signed = utc(recorded[-1]) if recorded else revision.date
        signatures.append(Signature(person.name, person.email, person.role, signed, why is None, why or ""))
    return signatures


def manual_record(repo: ContentRepository, ref: str, records: ChangeRecords | None = None) -> ManualRecord:
    """The manual's record at ref: its revisions, this version's signatures, and what verify finds."""
    rows = revisions(repo, ref)
    current = rows[-1]
    changed = {r.commit for r in rows}
    violations = [str(v) for v in verify_history(repo, current.commit, records) if v.commit in changed]
    parents = repo.trailer_history(current.commit, limit=1)[0][1]
    return ManualRecord(rows, _signatures(repo, records, current, parents), violations)
