"""`kb manual build`: the manual of a commit as PDF/A, read back with pypdf."""

from __future__ import annotations

import datetime
import io
import json
import re
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from kbserver.cli import main
from kbserver.content import Kind, parse_document
from kbserver.manual import build_manual, cover_for
from kbserver.manual.pdf import ATTACHMENT
from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from tests.manual.conftest import History, pages

MESES = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _build(services: Services, ref: str = "main") -> bytes:
    repo = services.repository
    commit = repo.resolve(ref)
    return build_manual(
        repo, commit, cover_for(services.settings, repo, commit), services.workflow.records
    ).pdf


def _chapter_titles(services: Services) -> list[str]:
    repo = services.repository
    docs = [parse_document(p, s) for p, s in repo.files(services.main_commit() or "", "docs/procedures/")]
    return [d.title for d in docs if d.kind is Kind.PROCEDURE]


def test_cover_history_approvals_chapters_and_page_numbers(
    manual_services: Services, history: History
) -> None:
    data = _build(manual_services)
    text = pages(data)
    everything = "\n".join(text)
    cover = text[0]
    for expected in (
        "Acme Seguros",
        "Mesa Global TI",
        "MP-ACME-01",
        "Versión 3",
        history.new_chapter,
    ):
        assert expected in cover
    rows = text[1]
    assert "CR-3" in rows and "CR-1" in rows and "CR-2" not in rows  # CR-2 changed an article only
    assert "Incidentes mayores" in rows and "Escalado: plazo de 15 minutos" in rows
    assert re.search(r"PROC-01,\s*PROC-09", rows) and "PROC-03" in rows
    assert "Versión inicial" in rows
    approval = text[2]
    assert (
        "Appr2 <appr2@desk.example>" in approval
        and "aprobador del cliente" in approval
        and "aprobado" in approval
    )
    assert "Appr1" not in approval  # CR-1's approver signed version 2, not this one
    titles = _chapter_titles(manual_services)
    assert len(titles) == 9
    for title in titles:
        assert title.split()[0] in everything
    assert "Gestión de incidentes mayores" in everything and "Avise al responsable de guardia" in everything
    total = len(text)
    for number, page in enumerate(text, start=1):
        assert f"Página {number} de {total}" in page
        assert "MP-ACME-01 · Versión 3" in page
    # The contents give each chapter's page: the page that starts with its heading.
    contents = text[3]
    for line in contents.splitlines():
        found = re.match(r"(PROC-\d+) .*?(\d+)$", line)
        if found:
            assert text[int(found.group(2)) - 1].startswith(found.group(1)), line


def test_attached_record_equals_the_trailers_of_the_commit(
    manual_services: Services, history: History
) -> None:
    reader = PdfReader(io.BytesIO(_build(manual_services)))
    record = json.loads(reader.attachments[ATTACHMENT][0])
    trailers = manual_services.repository.trailer_history(history.new_chapter, limit=1)[0][2]
    assert record["commit"] == history.new_chapter
    assert record["trailers"] == [list(t) for t in trailers]
    assert ("Approved-by", "Appr2 <appr2@desk.example> (approver)") in trailers
    assert [(a["email"], a["role"], a["meaning"], a["counted"]) for a in record["approvals"]] == [
        ("appr2@desk.example", "approver", "approved", True)
    ]
    assert record["verified"] is True and record["version"] == 3
    assert "/GTS_PDFA1" in str(reader.trailer["/Root"]["/OutputIntents"][0]["/S"])  # archival PDF/A


def _effective(data: bytes) -> datetime.datetime:
    record = json.loads(PdfReader(io.BytesIO(data)).attachments[ATTACHMENT][0])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["effective"])  # exact, ISO
    return datetime.datetime.fromisoformat(record["effective"].replace("Z", "+00:00"))


def test_cover_prints_the_effective_date_readably_in_the_manuals_language(
    manual_services: Services, history: History
) -> None:
    data = _build(manual_services)
    moment = _effective(data)
    cover = pages(data)[0]
    said = f"{moment.day} de {MESES[moment.month - 1]} de {moment.year}, {moment:%H:%M} UTC"
    assert said in cover and moment.strftime("%Y-%m-%dT") not in cover
    # The manual speaks the content's language (theme.language in its mkdocs.yml), date included.
    repo = manual_services.repository
    config = (repo.read(repo.resolve("main"), "mkdocs.yml") or b"").replace(b"language: es", b"language: en")
    repo.commit_files("main", {"mkdocs.yml": config}, "English site", SERVICE_AUTHOR, repo.head("main"))
    english = _build(manual_services)
    assert _effective(english) == moment  # the same version: mkdocs.yml is not a chapter
    cover = pages(english)[0]
    assert f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M} UTC" in cover
    assert "Effective date" in cover and "Version 3" in cover and "Page 1 of" in cover


def test_same_commit_same_pdf_and_older_versions(manual_services: Services, history: History) -> None:
    assert _build(manual_services) == _build(manual_services, history.new_chapter)
    older = pages(_build(manual_services, history.article))  # CR-2 did not change the manual: version 2
    assert "Versión 2" in older[0] and history.escalation in older[0]
    assert "Appr1 <appr1@desk.example>" in older[2]
    assert "Gestión de incidentes mayores" not in "\n".join(older)
    first = pages(_build(manual_services, history.seed))
    assert "Versión 1" in first[0] and "no hay solicitud de cambio" in first[2]


def test_hostile_chapter_runs_nothing_and_fetches_only_images_of_the_commit(
    manual_services: Services, history: History
) -> None:
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
        "53de0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
    )
    hostile = (
        "---\nid: PROC-10\ntitle: Hostil <script>alert(1)</script>\nlang: es\nowner: x\ntags: []\n"
        "audience: [L1]\nreview_by: 2027-01-01\nversion: '1'\norder: 10\n---\n\n"
        "## Texto\n\n<script>alert(2)</script><img src=x onerror=alert(3)>\n\n"
        "![logo](logo.png) ![fuera](../../../../etc/hostname.png) ![red](https://example.invalid/a.png)\n\n"
        "[externo](https://example.com/) [otro](../kb/red-vpn/vpn-lenta.md)\n"
    )
    repo = manual_services.repository  # pushed around the workflow: lint would refuse the path out of docs/
    files: dict[str, bytes | None] = {
        "docs/procedures/10-hostil.md": hostile.encode(),
        "docs/procedures/logo.png": png,
    }
    repo.commit_files("main", files, "hostile", SERVICE_AUTHOR, repo.head("main"))
    data = _build(manual_services)
    assert b"/JavaScript" not in data and b"/JS " not in data and b"/Launch" not in data
    assert data.count(b"/Subtype /Image") == 1  # the commit's own image; neither the disk nor the network
    text = "\n".join(pages(data))
    assert "Hostil <script>alert(1)</script>" in text  # the title is text, printed as typed
    assert "<script>alert(2)</script>" in text and "onerror" in text  # raw HTML in a body is escaped
    links = [
        a["/A"].get("/URI")
        for page in PdfReader(io.BytesIO(data)).pages
        for a in (x.get_object() for x in page.get("/Annots", []))
        if "/A" in a
    ]
    assert "https://example.com/" in links and not any(str(u).startswith("file:") for u in links if u)


def test_cli_build_refuses_a_commit_kb_verify_rejects_unless_draft(
    manual_services: Services, history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = manual_services.settings
    common = [
        "--repo",
        str(settings.repo),
        "--data-dir",
        str(settings.data_dir),
        "--database-url",
        settings.database_url,
    ]
    out = tmp_path / "manual.pdf"
    assert main(["manual", "build", "--out", str(out), *common]) == 0
    assert "version 3" in capsys.readouterr().out and out.read_bytes().startswith(b"%PDF-")
    repo = manual_services.repository
    path = "docs/procedures/03-escalado.md"
    text = (repo.read(repo.resolve("main"), path) or b"") + b"\nCambio sin aprobar.\n"
    repo.commit_files("main", {path: text}, "hotfix", SERVICE_AUTHOR, repo.head("main"))
    assert main(["manual", "build", "--out", str(out), *common]) == 2
    assert "kb verify rejects version 4" in capsys.readouterr().err
    assert main(["manual", "build", "--draft", "--out", str(out), *common]) == 0
    for page in pages(out.read_bytes()):
        assert "BORRADOR NO CONTROLADO" in page


def test_missing_pdf_library_is_a_clear_error(
    manual_services: Services,
    history: History,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = manual_services.settings
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as on a machine without WeasyPrint's libraries
    code = main(["manual", "build", "--repo", str(settings.repo), "--database-url", settings.database_url])
    assert code == 2
    assert "libpango-1.0-0" in capsys.readouterr().err
