"""Every version of the manual, kept: the list from git, the PDFs on disk, and a comparison of two versions.

The list comes from git (each commit that changed the procedures is a version, its approvers in its
trailers), so it is complete even for versions built before this service ran. Each version's PDF is built
once, in the background after the merge that made it or on its first download, and kept under
`$KB_DATA_DIR/manual/` (written to a temporary name, then renamed: a reader never sees half a file).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from approval.records import ChangeRecords
from approval.trailers import read_merge
from approval.worddiff import word_diff
from kbserver.content import Kind, parse_document
from kbserver.errors import NotFound
from kbserver.manual import BuiltManual, build_manual, cover_for
from kbserver.manual.record import PROCEDURES, Revision, revisions
from kbserver.manual.signing import sign_pdf
from kbserver.repository import ContentRepository
from kbserver.settings import Settings


@dataclass(frozen=True)
class Version:
    """One version of the manual as the console lists it."""

    revision: Revision
    built: bool

    def as_json(self) -> dict[str, Any]:
        """The version in `GET /api/manual/versions`."""
        merge = read_merge(self.revision.trailers)
        r = self.revision
        return {
            "version": r.version,
            "commit": r.commit,
            "effective": r.date,
            "change_request": r.change_request or None,
            "title": r.title,
            "chapters": r.paths,
            "approvers": [{"name": p.name, "email": p.email, "role": p.role} for p in merge.approvals]
            if merge
            else [],
            "built": self.built,
            "download": f"/api/manual/versions/{r.version}.pdf",
        }


class ManualArchive:
    """The built versions of the manual in one folder, and how to build the missing ones."""

    def __init__(self, settings: Settings, repo: ContentRepository, records: ChangeRecords | None) -> None:
        self.settings = settings
        self.repo = repo
        self.records = records
        self.root = settings.manual_root

    def _file(self, revision: Revision) -> Path:
        return self.root / f"{self.settings.manual_id}-v{revision.version:04d}-{revision.commit[:12]}.pdf"

    def versions(self) -> list[Version]:
        """Every version up to the approved branch, newest first."""
        rows = revisions(self.repo, self.settings.branch)
        return [Version(r, self._file(r).is_file()) for r in reversed(rows)]

    def revision(self, number: int) -> Revision:
        """One version's revision; NotFound when there is no such version."""
        rows = revisions(self.repo, self.settings.branch)
        if not 1 <= number <= len(rows):
            raise NotFound(f"the manual has no version {number} (versions 1 to {len(rows)})")
        return rows[number - 1]

    def build(self, revision: Revision) -> BuiltManual:
        """Build one version, sign it when a key is configured, and keep it."""
        repo, settings = self.repo, self.settings
        built = build_manual(repo, revision.commit, cover_for(settings, repo, revision.commit), self.records)
        pdf = built.pdf
        key, cert = settings.manual_signing_key, settings.manual_signing_cert
        if key and cert:
            pdf = sign_pdf(pdf, key, cert, f"{settings.manual_id} version {built.version}")
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.root, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(pdf)
        os.replace(temporary, self._file(revision))
        meta = self._file(revision).with_suffix(".json")
        meta.write_text(json.dumps(built.attached, ensure_ascii=False, sort_keys=True))
        return built

    def pdf(self, number: int) -> tuple[str, bytes]:
        """The file name and bytes of one version, built now if it was never built."""
        revision = self.revision(number)
        path = self._file(revision)
        if not path.is_file():
            self.build(revision)
        return path.name, path.read_bytes()

    def build_latest(self) -> Revision | None:
        """Build the newest version if it is not kept yet (after a merge); returns what was built."""
        latest = revisions(self.repo, self.settings.branch)[-1]
        if self._file(latest).is_file():
            return None
        self.build(latest)
        return latest

    def compare(self, old: int, new: int) -> dict[str, Any]:
        """Which chapters changed between two versions, each with the word diff of its file."""
        before, after = self.revision(old), self.revision(new)
        chapters_before = self._chapters(before.commit)
        chapters_after = self._chapters(after.commit)
        changed = []
        for key in sorted(set(chapters_before) | set(chapters_after)):
            a, b = chapters_before.get(key), chapters_after.get(key)
            if a is not None and b is not None and a[2] == b[2]:
                continue
            status = "added" if a is None else "removed" if b is None else "changed"
            title = (b or a or ("", "", ""))[1]
            lines = word_diff(a[2] if a else None, b[2] if b else None)
            changed.append(
                {
                    "id": key,
                    "title": title,
                    "path": (b or a or ("", "", ""))[0],
                    "status": status,
                    "lines": [None if line is None else _line(line) for line in lines],
                }
            )
        return {"from": _brief(before), "to": _brief(after), "chapters": changed}

    def _chapters(self, commit: str) -> dict[str, tuple[str, str, str]]:
        """Chapter id -> (path, title, text) at a commit."""
        found = {}
        for path, source in self.repo.files(commit, PROCEDURES):
            doc = parse_document(path, source)
            if doc.kind is Kind.PROCEDURE:
                found[doc.doc_id or path] = (path, doc.title, source.decode("utf-8", "replace"))
        return found


def _brief(revision: Revision) -> dict[str, Any]:
    return {
        "version": revision.version,
        "commit": revision.commit,
        "effective": revision.date,
        "change_request": revision.change_request or None,
        "title": revision.title,
    }


def _line(line: Any) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "old_no": line.old_no,
        "new_no": line.new_no,
        "segments": [{"kind": s.kind, "text": s.text} for s in line.segments],
    }
