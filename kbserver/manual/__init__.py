"""The procedures manual as one controlled PDF: built from a commit, optionally signed, verifiable.

record.py reads the version, revision history and approvals from git; chapters.py renders the chapters
with the site's pipeline; document.py lays them out as HTML; pdf.py prints that as PDF/A with the approval
record attached; signing.py signs and checks signatures; check.py is `kb manual verify`; versions.py keeps
every version the service built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from approval.records import ChangeRecords
from kbserver.manual.chapters import load_chapters
from kbserver.manual.document import Cover, manual_html
from kbserver.manual.pdf import render_pdf
from kbserver.manual.record import ManualRecord, manual_record
from kbserver.repository import ContentRepository
from kbserver.settings import Settings
from kbserver.siteconfig import CONFIG_FILE, read_site_config

__all__ = ["BuiltManual", "Cover", "build_manual", "cover_for"]


@dataclass(frozen=True)
class BuiltManual:
    """One version of the manual: its PDF and the approval record attached inside it."""

    pdf: bytes
    record: ManualRecord
    attached: dict[str, Any]

    @property
    def version(self) -> int:
        """The manual's version number."""
        return self.record.current.version

    @property
    def commit(self) -> str:
        """The commit whose procedures this version prints."""
        return self.record.current.commit


def cover_for(settings: Settings, repo: ContentRepository, commit: str) -> Cover:
    """The cover's names from the settings, in the language of the content's site."""
    config = repo.read(commit, CONFIG_FILE)
    language = read_site_config(config.decode("utf-8", "replace")).language if config else "es"
    return Cover(settings.manual_id, settings.desk_name, settings.client_name, language)


def build_manual(
    repo: ContentRepository, ref: str, cover: Cover, records: ChangeRecords | None = None
) -> BuiltManual:
    """The manual's version at ref (the last commit up to ref that changed the procedures), as PDF/A."""
    record = manual_record(repo, ref, records)
    commit = record.current.commit
    chapters = load_chapters(repo, commit)
    attached = record.as_json(cover.document, cover.desk, cover.client)
    attached["language"] = cover.language
    page = manual_html(cover, record, chapters)
    return BuiltManual(render_pdf(page, attached, repo, commit, record.current.date), record, attached)
