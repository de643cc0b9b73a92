"""`kb import servicenow FILE`: a ServiceNow `kb_knowledge` export (XML or JSON) as one change request.

Each article's HTML becomes Markdown (kbserver/content/htmltext.py); `number` is kept in the front matter's
`meta.servicenow`, `short_description` is the title, the category is the folder, the author the owner,
`valid_to` the review date, and a retired article stays `status: retired`. The files go through the Markdown
importer's path (fresh ids, lint, one change request, never a commit to main). An article that cannot be
converted, or whose result lint refuses, is left out and reported with its number; the rest is imported.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import yaml

from kbserver.commands.actions import Result
from kbserver.commands.output import json_text
from kbserver.content.htmltext import html_to_markdown, scheme_of
from kbserver.content.importer import ImportOptions
from kbserver.content.opening import ImportResult, check_import, open_change
from kbserver.content.slug import slug
from kbserver.errors import InvalidInput
from kbserver.search.analysis import LANGS
from kbserver.servicenow.knowledge import KnowledgeRecord, read_export
from kbserver.services import Services

MAX_ROUNDS = 5  # lint, leave out what it refuses, lint again: links to what was left out become text
_KB_LINK = re.compile(r"(?:sysparm_article|sysparm_number)=(KB\d+)|sys_kb_id=([0-9a-f]{32})", re.IGNORECASE)


@dataclass
class ServiceNowImport:
    """What was imported, what was not (article number and why), and what changed on the way."""

    result: ImportResult | None = None
    numbers: dict[str, str] = field(default_factory=dict)  # source path -> article number
    left_out: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The report for `--json`."""
        plan = self.result.plan if self.result else None
        return {
            "change_request": self.result.change if self.result else None,
            "branch": self.result.branch if self.result else "",
            "documents": [
                {"number": self.numbers.get(d.source, ""), "id": d.doc_id, "path": d.path, "title": d.title}
                for d in (plan.documents if plan else [])
            ],
            "not_converted": [{"number": n, "reason": r} for n, r in self.left_out],
            "notes": [{"number": n, "note": r} for n, r in self.notes],
        }


def latest_versions(records: list[KnowledgeRecord]) -> tuple[list[KnowledgeRecord], list[tuple[str, str]]]:
    """One record per article number, its latest version; the older ones, as left out."""
    best: dict[str, KnowledgeRecord] = {}
    older = []
    for record in records:
        kept = best.get(record.number)
        if kept is None or _version(record) > _version(kept):
            best[record.number] = record
        if kept is not None:
            older.append((record.number, "an older version of the article: the latest is imported"))
    return list(best.values()), older


def _version(record: KnowledgeRecord) -> tuple[float, str]:
    try:
        return float(record.version or 0), record.updated
    except ValueError:
        return 0.0, record.updated


class Sources:
    """The export's articles as Markdown files with foreign front matter, ready for the importer."""

    def __init__(self, records: list[KnowledgeRecord], instance: str, default_lang: str) -> None:
        self.instance = instance.rstrip("/")
        self.default_lang = default_lang
        self.paths: dict[str, str] = {}  # number -> source path
        self.by_sys_id: dict[str, str] = {r.sys_id: r.number for r in records if r.sys_id}
        taken: set[str] = set()
        for r in records:
            folder = slug(r.category, "") if r.category else ""
            stem = slug(r.title or r.number, r.number.lower() or "article")
            path, n = f"{folder}/{stem}.md".lstrip("/"), 1
            while path.lower() in taken:
                n += 1
                path = f"{folder}/{stem}-{n}.md".lstrip("/")
            taken.add(path.lower())
            self.paths[r.number] = path

    def convert(self, record: KnowledgeRecord, report: ServiceNowImport) -> list[tuple[str, bytes]]:
        """The article's file and its images; its notes go to the report."""
        path = self.paths[record.number]
        folder, name = posixpath.split(posixpath.splitext(path)[0])
        converted = html_to_markdown(
            record.html, lambda href: self._relink(href, path), lambda n, ext: f"{name}-image-{n}{ext}"
        )
        report.notes += [(record.number, note) for note in converted.notes]
        front = yaml.safe_dump(self._front(record), allow_unicode=True, sort_keys=False, width=1000)
        files = [(path, f"---\n{front}---\n\n{converted.markdown}".encode())]
        files += [(posixpath.join(folder, image), data) for image, data in converted.images.items()]
        return files

    def _front(self, record: KnowledgeRecord) -> dict[str, Any]:
        front: dict[str, Any] = {"title": record.title or record.number}
        lang = record.language[:2]
        front["lang"] = lang if lang in LANGS else self.default_lang
        if record.author:
            front["owner"] = record.author
        with contextlib.suppress(ValueError):  # none given, or not a date: the import's default applies
            front["review_by"] = date.fromisoformat(record.valid_to)
        if record.retired:
            front["status"] = "retired"
        front["servicenow"] = record.number  # kept under meta: the reference back to ServiceNow
        return front

    def _relink(self, href: str, here: str) -> str | None:
        scheme = scheme_of(href)
        if scheme in ("mailto", "tel"):
            return href
        found = _KB_LINK.search(href)
        if found:
            number = (found.group(1) or "").upper() or self.by_sys_id.get((found.group(2) or "").lower(), "")
            if number in self.paths:
                return posixpath.relpath(self.paths[number], posixpath.dirname(here) or ".")
        if scheme in ("http", "https"):
            return href
        if href.startswith("#") or not self.instance:
            return None  # an anchor of the old page, or a path on an instance the import was not told of
        return urljoin(self.instance + "/", href)


def unconvertible(record: KnowledgeRecord) -> str | None:
    """Why the record cannot become an article, or None."""
    if not record.number:
        return f"{record.title or 'an article'}: no number in the export"
    if not record.html.strip():
        return "wiki markup is not converted" if record.article_type == "wiki" else "no text"
    return None


def import_servicenow(
    services: Services, file: Path, user_name: str, options: ImportOptions, title: str, instance: str
) -> ServiceNowImport:
    """Convert the export, lint it, leave out what lint refuses, and open one change request with the rest."""
    services.users.get(user_name)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {file}: {exc.strerror}") from None
    records, left_out = latest_versions(read_export(data))
    for record in records:
        if (why := unconvertible(record)) is not None:
            left_out.append((record.number or "(no number)", why))
    kept = [r for r in records if unconvertible(r) is None]
    for _ in range(MAX_ROUNDS):
        # Each round starts again from the articles still kept, so that no link points at one left out.
        report = ServiceNowImport(left_out=list(left_out))
        sources = Sources(kept, instance, options.lang)
        files: list[tuple[str, bytes]] = []
        failed: dict[str, list[str]] = {}
        for record in kept:
            try:
                files += sources.convert(record, report)
            except Exception as exc:  # an HTML parser's surprise: one article, not the whole import
                failed[record.number] = [f"the HTML cannot be converted ({type(exc).__name__})"]
        report.numbers = {path: number for number, path in sources.paths.items()}
        result = None
        if not failed:
            result = check_import(services, files, options)
            failed = _refused(result, report.numbers)
        if not failed:
            break
        left_out += [(number, "; ".join(why)) for number, why in failed.items()]
        kept = [r for r in kept if r.number not in failed]
    report.result = result
    if result is None or result.errors or not result.plan.documents:
        return report
    message = f"Import {len(result.plan.documents)} article(s) from ServiceNow ({file.name})"
    report.result = open_change(services, result, user_name, title, message)
    return report


def _refused(result: ImportResult, numbers: dict[str, str]) -> dict[str, list[str]]:
    """Article number -> lint's errors on its file (or on its images)."""
    by_path = {d.path: numbers.get(d.source, "") for d in result.plan.documents}
    refused: dict[str, list[str]] = {}
    for finding in result.errors:
        number = by_path.get(finding.path) or next(
            (n for p, n in by_path.items() if finding.path.startswith(posixpath.splitext(p)[0] + "-image-")),
            "",
        )
        refused.setdefault(number or "(unknown)", []).append(f"{finding.rule}: {finding.message}")
    return refused


def run_import(services: Services, args: Any, options: ImportOptions) -> Result:
    """Run `kb import servicenow`: exit 0 with a change request, 1 when nothing could be imported."""
    title = args.title or f"Import ServiceNow knowledge from {args.file.name}"[:200]
    instance = args.instance or services.settings.servicenow_url
    report = import_servicenow(services, args.file, args.user, options, title, instance)
    result = report.result
    code = 0 if result is not None and result.change is not None else 1
    if args.json:
        return code, json_text(report.as_json())
    done = report.as_json()
    lines = [f"{d['number']:<12} {d['id']}  {d['path']}: {d['title']}" for d in done["documents"]]
    lines += [f"{n['number']:<12} note: {n['note']}" for n in done["notes"]]
    lines += [f"{n['number']:<12} NOT IMPORTED: {n['reason']}" for n in done["not_converted"]]
    lines.append(f"{len(done['documents'])} article(s) imported, {len(done['not_converted'])} left out")
    if code == 0:
        lines.append(
            f"CR-{done['change_request']} opened on branch {done['branch']}: review and submit it "
            f"(`kb change submit {done['change_request']} --as {args.user}`)"
        )
    else:
        lines.append("no change request was opened: nothing could be imported")
    return code, "\n".join(lines)
