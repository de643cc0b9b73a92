"""An approver downloads two versions of the procedures manual in Chromium and opens their comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kbserver.services import Services
from tests.browser.conftest import log_in
from tests.manual.conftest import pages

CHAPTER = "docs/procedures/03-escalado.md"


def _merge_a_procedure_change(services: Services) -> None:
    flow, lead = services.workflow, services.users.get("lead1")
    change = flow.create(lead, "Escalado: plazo de 15 minutos")
    text = services.repository.read(change.head_commit, CHAPTER) or b""
    flow.write(
        lead, change.number, {CHAPTER: text + b"\nEl plazo es de 15 minutos.\n"}, change.head_commit, ""
    )
    flow.submit(lead, change.number)
    flow.approve(services.users.get("approver1"), change.number, "conforme")
    services.merge(lead, change.number)


def test_approver_downloads_two_versions_and_compares_them(
    live_server: str, services: Services, page: Any, tmp_path: Path
) -> None:
    _merge_a_procedure_change(services)
    log_in(page, live_server, "approver1", "/app/manual")
    rows = page.locator("table.versions tbody tr")
    assert rows.count() == 2
    assert "approver1" in rows.nth(0).inner_text() and "CR-1" in rows.nth(0).inner_text()
    texts = {}
    for version in (2, 1):
        with page.expect_download() as download:
            page.click(f"tr[data-version='{version}'] a[download]")
        saved = tmp_path / f"v{version}.pdf"
        download.value.save_as(saved)
        texts[version] = pages(saved.read_bytes())
    assert "Versión 2" in texts[2][0] and "Versión 1" in texts[1][0]
    assert "El plazo es de 15 minutos." in "\n".join(texts[2])
    assert "El plazo es de 15 minutos." not in "\n".join(texts[1])
    page.select_option("select[name=old]", "1")
    page.select_option("select[name=new]", "2")
    page.click("#compare button[type=submit]")
    page.wait_for_url("**/app/manual/compare?old=1&new=2")
    chapter = page.locator("section.chapter[data-chapter='PROC-03']")
    assert "Protocolo de escalado" in chapter.locator("h2").inner_text()
    added = " ".join(chapter.locator("tr.ins, tr.change").all_inner_texts())
    assert "El plazo es de 15 minutos." in added
    assert page.locator("section.chapter").count() == 1
