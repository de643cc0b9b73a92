"""Read confirmations in Chromium: an operator sees a changed procedure on the site and in the console, reads
the diff and confirms it, and the prompt goes; a lead sees who confirmed and who did not."""

from __future__ import annotations

from typing import Any

import pytest

from kbserver.services import Services
from kbserver.settings import Settings
from tests.browser.conftest import PASSWORD, log_in

CHAPTER = "docs/procedures/03-escalado.md"
PAGE = "/procedures/03-escalado/"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings without the manual's background build (not what these tests look at)."""
    return settings.model_copy(update={"manual_autobuild": False})


def _merge_a_procedure_change(services: Services) -> str:
    services.users.add("operator2", "operator", PASSWORD, display_name="Olga Segunda")
    flow, lead = services.workflow, services.users.get("lead1")
    change = flow.create(lead, "Escalado: plazo de 15 minutos")
    text = (services.repository.read(change.head_commit, CHAPTER) or b"").decode()
    changed = text.replace("han pasado **20 minutos**", "han pasado **15 minutos**")
    assert changed != text
    flow.write(lead, change.number, {CHAPTER: changed.encode()}, change.head_commit, "")
    flow.submit(lead, change.number)
    flow.approve(services.users.get("approver1"), change.number, "conforme")
    merged = services.merge(lead, change.number).merged_commit or ""
    services.wait_for_background()  # the site of the new main
    return merged


def test_operator_reads_the_diff_of_a_changed_procedure_and_confirms_it(
    live_server: str, services: Services, page: Any
) -> None:
    _merge_a_procedure_change(services)
    log_in(page, live_server, "operator1", "/app")
    ask = page.locator("#acks section.ack[data-document='PROC-03']")
    assert "Cambiado desde su última confirmación" in page.locator("#acks h2").inner_text()
    assert "Protocolo de escalado" in ask.locator("h3").inner_text()
    assert ask.locator("table.diff del").all_inner_texts() == ["20"]
    assert ask.locator("table.diff ins").all_inner_texts() == ["15"]

    page.goto(f"{live_server}{PAGE}")  # the site says so too, and links to the console
    notice = page.locator(".kb-ack")
    notice.wait_for(state="visible")
    notice.locator("a").click()
    page.wait_for_url(f"{live_server}/app/acks/PROC-03")
    assert page.locator("section.ack table.diff ins").all_inner_texts() == ["15"]
    page.click("section.ack form.ack-confirm button[type=submit]")
    page.wait_for_url(f"{live_server}/app")
    assert page.locator("#acks").count() == 0  # the prompt is gone

    page.goto(f"{live_server}{PAGE}")
    page.wait_for_load_state("networkidle")
    assert page.locator(".kb-ack").is_hidden()
    page.goto(f"{live_server}/app/acks/PROC-03")
    assert page.locator("#nothing").is_visible()


def test_lead_sees_that_one_operator_confirmed_and_another_did_not(
    live_server: str, services: Services, page: Any
) -> None:
    commit = _merge_a_procedure_change(services)
    services.acks.confirm(services.users.get("operator1"), "PROC-03", commit)
    log_in(page, live_server, "lead1", "/app/reports")
    row = page.locator("#acks table.acks tr[data-document='PROC-03']")
    assert row.locator("td").nth(5).inner_text() == "1"  # confirmed: operator1
    row.locator("a").click()
    page.wait_for_url(f"{live_server}/app/acks/report/PROC-03")
    people = page.locator("table.people tbody tr")
    states = {r.get_attribute("data-user"): r.get_attribute("data-state") for r in people.all()}
    assert states == {"operator1": "confirmed", "operator2": "pending", "lead1": "pending"}
    assert "confirmado" in page.locator("tr[data-user='operator1']").inner_text()
    assert "pendiente" in page.locator("tr[data-user='operator2']").inner_text()
