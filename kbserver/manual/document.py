"""The manual as one HTML document for print: cover, revision history, approval record, contents, chapters.

Every value that comes from content, git or settings is HTML-escaped here; the chapters' HTML comes from
the site's sanitiser. The page furniture (document id, version, "page X of Y") and the page numbers of the
contents are CSS paged media (kbserver/manual/manual.css), which the PDF renderer lays out.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kbserver.manual.chapters import Chapter
from kbserver.manual.record import ManualRecord

STYLESHEET = Path(__file__).with_name("manual.css")

LABELS = {
    "es": {
        "manual": "Manual de procedimientos",
        "desk": "Servicio",
        "client": "Cliente",
        "document": "Documento",
        "version": "Versión",
        "effective": "Fecha de entrada en vigor",
        "commit": "Commit",
        "history": "Historial de revisiones",
        "change_request": "Solicitud de cambio",
        "date": "Fecha",
        "title": "Título",
        "chapters": "Capítulos",
        "approval": "Registro de aprobación de esta versión",
        "name": "Nombre",
        "role": "Rol",
        "signed_at": "Fecha y hora (UTC)",
        "meaning": "Significado",
        "approved": "aprobado",
        "not_counted": "no cuenta",
        "no_approvals": "Versión inicial: no hay solicitud de cambio que aprobar.",
        "contents": "Índice",
        "page": "Página",
        "of": "de",
        "draft": "BORRADOR NO CONTROLADO: no verificado",
        "violations": "Esta versión no supera `kb verify`:",
        "initial": "Versión inicial",
        "all": "todos",
        "chapter_version": "versión del capítulo",
        "role.approver": "aprobador del cliente",
        "role.lead": "líder L2",
        "role.admin": "administrador",
        "months": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
        "moment": "{day} de {month} de {year}, {time} UTC",
    },
    "en": {
        "manual": "Procedures manual",
        "desk": "Service",
        "client": "Client",
        "document": "Document",
        "version": "Version",
        "effective": "Effective date",
        "commit": "Commit",
        "history": "Revision history",
        "change_request": "Change request",
        "date": "Date",
        "title": "Title",
        "chapters": "Chapters",
        "approval": "Approval record of this version",
        "name": "Name",
        "role": "Role",
        "signed_at": "Date and time (UTC)",
        "meaning": "Meaning",
        "approved": "approved",
        "not_counted": "not counted",
        "no_approvals": "Initial version: no change request to approve.",
        "contents": "Contents",
        "page": "Page",
        "of": "of",
        "draft": "UNCONTROLLED DRAFT: not verified",
        "violations": "This version does not pass `kb verify`:",
        "initial": "Initial version",
        "all": "all",
        "chapter_version": "chapter version",
        "role.approver": "client approver",
        "role.lead": "L2 lead",
        "role.admin": "administrator",
        "months": "January February March April May June July August September October November December",
        "moment": "{day} {month} {year}, {time} UTC",
    },
}


@dataclass(frozen=True)
class Cover:
    """What the cover and every page name: the document, the desk and the client."""

    document: str
    desk: str
    client: str
    language: str = "es"


def labels(language: str) -> dict[str, str]:
    """The manual's words in a language, by its primary subtag ("es-MX" is Spanish); English otherwise."""
    return LABELS.get(language.replace("_", "-").split("-")[0].lower(), LABELS["en"])


def readable_moment(stamp: str, language: str) -> str:
    """An ISO date and time as a reader says it, in UTC: "2 de diciembre de 2026, 09:15 UTC"."""
    t = labels(language)
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
    month = t["months"].split()[moment.month - 1]
    return t["moment"].format(day=moment.day, month=month, year=moment.year, time=f"{moment:%H:%M}")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _chapter_names(paths: list[str], ids: dict[str, str]) -> str:
    names = [ids.get(p, p.rsplit("/", 1)[-1].removesuffix(".md")) for p in paths if p.endswith(".md")]
    return ", ".join(sorted({n for n in names if not n.startswith("index")}))


def _history(record: ManualRecord, chapters: list[Chapter], t: dict[str, str]) -> str:
    ids = {c.path: c.doc_id for c in chapters}
    rows = "".join(
        f"<tr><td>{r.version}</td><td>{_e(r.change_request or '—')}</td><td>{_e(r.date[:10])}</td>"
        f"<td>{_e(r.title if r.change_request else t['initial'] if r.version == 1 else r.title)}</td>"
        f"<td>{_e(_chapter_names(r.paths, ids))}</td></tr>"
        for r in reversed(record.revisions)
    )
    head = "".join(f"<th>{_e(t[k])}</th>" for k in ("version", "change_request", "date", "title", "chapters"))
    return (
        f'<section class="history"><h1 id="history">{_e(t["history"])}</h1>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _approval(record: ManualRecord, t: dict[str, str]) -> str:
    now = record.current
    parts = [f'<section class="approval"><h1 id="approval">{_e(t["approval"])}</h1>']
    if now.change_request:
        parts.append(
            f"<p>{_e(t['change_request'])}: <strong>{_e(now.change_request)}</strong> — {_e(now.title)}</p>"
        )
    if record.signatures:
        head = "".join(f"<th>{_e(t[k])}</th>" for k in ("name", "role", "signed_at", "meaning"))
        rows = "".join(
            f"<tr><td>{_e(s.name)} &lt;{_e(s.email)}&gt;</td><td>{_e(t.get('role.' + s.role, s.role))}</td>"
            f"<td>{_e(s.signed_at)}</td>"
            f"<td>{_e(t['approved']) if s.counted else _e(t['not_counted'] + ': ' + s.reason)}</td></tr>"
            for s in record.signatures
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    else:
        parts.append(f"<p>{_e(t['no_approvals'])}</p>")
    if record.violations:
        items = "".join(f"<li>{_e(v)}</li>" for v in record.violations)
        parts.append(f'<div class="violations"><p>{_e(t["violations"])}</p><ul>{items}</ul></div>')
    return "".join(parts) + "</section>"


def manual_html(cover: Cover, record: ManualRecord, chapters: list[Chapter]) -> str:
    """The whole manual as one HTML document, ready for the PDF renderer."""
    t = labels(cover.language)
    now = record.current
    # One footer line holds the document's id, version and page: a margin box fewer on every page.
    footer = f"{cover.document} · {t['version']} {now.version} · {t['page']}"
    # A draft says so at the top left of every page, clear of the chapter's title at the top right.
    draft = "" if record.verified else f" @top-left {{ content: '{_css(t['draft'])}'; }}"
    facts = "".join(
        f"<tr><th>{_e(t[key])}</th><td>{_e(value)}</td></tr>"
        for key, value in (
            ("document", cover.document),
            ("version", now.version),
            ("effective", readable_moment(now.date, cover.language)),  # the exact one is in the record
            ("commit", now.commit),
            ("client", cover.client),
            ("desk", cover.desk),
        )
    )
    contents = "".join(f'<li><a href="#{c.anchor}">{_e(c.doc_id)} {_e(c.title)}</a></li>' for c in chapters)
    body = "".join(
        f'<section class="chapter"><h1 id="{c.anchor}">{_e(c.doc_id)} {_e(c.title)}</h1>'
        f'<p class="chapter-version">{_e(t["chapter_version"])} {_e(c.version)}</p>{c.html}</section>'
        for c in chapters
    )
    return (
        f'<!DOCTYPE html><html lang="{_e(cover.language)}"><head><meta charset="utf-8">'
        f"<title>{_e(cover.document)} {_e(t['manual'])} {_e(t['version'])} {now.version}</title>"
        f'<meta name="author" content="{_e(cover.desk)}">'
        f'<meta name="description" content="{_e(cover.client)}">'
        f'<meta name="dcterms.created" content="{_e(now.date)}">'
        f'<meta name="dcterms.modified" content="{_e(now.date)}">'
        f'<meta name="generator" content="kb manual">'
        f"<style>@page {{{draft} @bottom-center {{ content: '{_css(footer)} ' counter(page)"
        f" ' {_css(t['of'])} ' counter(pages); }} }}"
        f"</style></head><body>"
        f'<section class="cover"><p class="client">{_e(cover.client)}</p>'
        f'<h1 class="manual-title" id="cover">{_e(t["manual"])}</h1>'
        f'<p class="desk">{_e(cover.desk)}</p><table class="facts">{facts}</table></section>'
        f"{_history(record, chapters, t)}{_approval(record, t)}"
        f'<section class="contents"><h1 id="contents">{_e(t["contents"])}</h1><ul>{contents}</ul></section>'
        f"{body}</body></html>"
    )


def _css(text: str) -> str:
    """text as a CSS string between single quotes: a quote, backslash or line break cannot end it."""
    return "".join(c if c.isalnum() or c in " ·-_.,:()" else f"\\{ord(c):06x}" for c in text)
