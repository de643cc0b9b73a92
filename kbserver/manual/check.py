"""`kb manual verify FILE`: is this PDF a version of the manual, as approved, unaltered?

Three checks, each reported on its own:

- the signature: intact, covering every byte of the file, by the configured certificate (an unsigned file
  fails only when a signing certificate is configured: then every version the desk issues is signed);
- the attached approval record equals the one the content repository gives for its commit today: the
  same trailers, the same counted approvals (cross-checked as `kb verify` does), and no violation;
- the text of every page equals the text of the manual built again from that commit.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from approval.records import ChangeRecords
from kbserver.errors import KBError, NotFound
from kbserver.manual import Cover, build_manual
from kbserver.manual.pdf import ATTACHMENT
from kbserver.manual.signing import SignatureCheck, check_signature
from kbserver.repository import ContentRepository


@dataclass
class ManualCheck:
    """The outcome of `kb manual verify`: what was checked, and every problem found."""

    signature: SignatureCheck
    record: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """The outcome for `--json` and the API."""
        return {
            "ok": self.ok,
            "problems": self.problems,
            "signed": self.signature.signed,
            "signer": self.signature.signer,
            "signed_at": self.signature.signed_at,
            "version": self.record.get("version") if self.record else None,
            "commit": self.record.get("commit") if self.record else None,
        }


def page_texts(data: bytes) -> list[str]:
    """The text of each page, as a PDF library reads it back."""
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def attached_record(data: bytes) -> dict[str, Any]:
    """The approval record attached inside the PDF; NotFound when there is none or it is not JSON."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        found = PdfReader(io.BytesIO(data)).attachments.get(ATTACHMENT)
        record = json.loads(found[0]) if found else None
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise NotFound(f"cannot read the attached approval record: {exc}") from exc
    if not isinstance(record, dict):
        raise NotFound(f"the PDF has no attached {ATTACHMENT}: not a manual built by `kb manual build`")
    return record


def _signature_problems(found: SignatureCheck, cert: Path | None) -> list[str]:
    if not found.signed:
        return ["the file is not signed, and a signing certificate is configured"] if cert else []
    if not found.intact:
        return ["the signature does not match the file's bytes: the file was altered after signing"]
    if not found.whole_file:
        return ["bytes were added to the file after it was signed"]
    if not found.trusted:
        return [f"the signer ({found.signer or 'unknown'}) is not the configured signing certificate"]
    return []


def verify_manual(
    data: bytes,
    repo: ContentRepository,
    branch: str,
    records: ChangeRecords | None = None,
    cert: Path | None = None,
) -> ManualCheck:
    """Check a manual's PDF against the content repository (and the state store, when given)."""
    outcome = ManualCheck(check_signature(data, cert))
    outcome.problems += _signature_problems(outcome.signature, cert)
    try:
        record = attached_record(data)
    except (NotFound, Exception) as exc:  # a damaged file: pypdf fails in many ways
        outcome.problems.append(exc.message if isinstance(exc, KBError) else f"cannot read the PDF: {exc}")
        return outcome
    outcome.record = record
    commit = str(record.get("commit", ""))
    try:
        resolved = repo.resolve(commit) if commit else ""
    except NotFound:
        resolved = ""
    if not resolved or resolved != commit or not repo.is_ancestor(commit, branch):
        outcome.problems.append(
            f"the recorded commit {commit[:12] or '(none)'} is not in the history of {branch}"
        )
        return outcome
    cover = Cover(
        str(record.get("document", "")),
        str(record.get("desk", "")),
        str(record.get("client", "")),
        str(record.get("language", "es")),
    )
    rebuilt = build_manual(repo, commit, cover, records)
    expected = rebuilt.attached
    if record.get("trailers") != expected["trailers"]:
        outcome.problems.append(f"the attached trailers are not those of commit {commit[:12]}")
    elif record != expected:
        changed = sorted(k for k in set(record) | set(expected) if record.get(k) != expected.get(k))
        outcome.problems.append(
            f"the attached approval record does not match the repository: {', '.join(changed)}"
        )
    if not rebuilt.record.verified:
        outcome.problems += [f"kb verify rejects this version: {v}" for v in rebuilt.record.violations]
    try:
        texts = page_texts(data)
    except Exception as exc:
        outcome.problems.append(f"cannot read the PDF's text: {exc}")
        return outcome
    again = page_texts(rebuilt.pdf)
    if texts != again:
        differing = next((n for n, (a, b) in enumerate(zip(texts, again, strict=False), 1) if a != b), None)
        where = f"page {differing}" if differing else f"{len(texts)} pages instead of {len(again)}"
        outcome.problems.append(f"the text does not match commit {commit[:12]}: {where} differs")
    return outcome
