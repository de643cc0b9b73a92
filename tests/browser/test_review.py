"""Leads, approvers and operators in Chromium: edit with lint, word diff and approval, merge, and refusals."""

from __future__ import annotations

import time
from typing import Any

from kbserver.services import Services
from tests.browser.conftest import log_in

ADDED = "## Objetivo zafiro\n\nResponder en menos de 15 segundos en el canal zafiro.\n"


def _log_out(page: Any) -> None:
    page.click("form[action='/app/logout'] button")
    page.wait_for_url("**/app/login")


def test_lead_edits_approver_approves_lead_merges(live_server: str, page: Any, services: Services) -> None:
    log_in(page, live_server, "lead1", "/app")
    page.fill("input[name=id]", "PROC-06")
    page.click("form[action='/app/open'] button")
    page.wait_for_url("**/app/edit/PROC-06")
    source = page.locator("#source")
    original = source.input_value()
    broken = original + "\n" + ADDED + "\nVer [la guía](no-existe.md).\n"
    source.fill(broken)
    page.wait_for_selector("#lint .finding-error")
    assert "no-existe.md" in page.locator("#lint").inner_text()
    assert page.locator("#preview h2", has_text="Objetivo zafiro").count() == 1  # live preview, same renderer
    source.fill(original + "\n" + ADDED)
    page.wait_for_selector("#lint .finding-ok")
    page.fill("input[name=title]", "PROC-06: objetivo del canal zafiro")
    page.click("button[value=submit]")
    page.wait_for_url("**/app/changes/*")
    number = page.url.rsplit("/", 1)[-1]
    assert "en revisión" in page.locator(".state").first.inner_text()
    assert page.locator(".btn-approve").count() == 0  # an author never approves their own change
    _log_out(page)

    log_in(page, live_server, "approver1", "/app/changes?awaiting=true")
    page.click(f"a[href='/app/changes/{number}']")
    page.wait_for_url(f"**/app/changes/{number}")
    assert page.locator("table.diff ins", has_text="Objetivo zafiro").count() >= 1  # word-level highlight
    assert page.locator(".rendered h2", has_text="Objetivo zafiro").count() == 1  # the rendered preview
    assert page.locator(".btn-merge").count() == 0
    page.fill("form[action$='/approve'] textarea", "Conforme.")
    page.click(".btn-approve")
    page.wait_for_url(f"**/app/changes/{number}")
    assert "aprobada" in page.locator(".state").first.inner_text()
    _log_out(page)

    log_in(page, live_server, "lead1", f"/app/changes/{number}")
    page.click(".btn-merge")
    page.wait_for_url(f"**/app/changes/{number}")
    assert "publicada" in page.locator(".state").first.inner_text()
    found = page.request.get(live_server + "/api/search?q=zafiro").json()
    assert found["results"][0]["id"] == "PROC-06"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the site is rebuilt in the background; the old one serves meanwhile
        page.goto(live_server + "/procedures/06-calidad/")
        if page.locator("h2", has_text="Objetivo zafiro").count():
            break
        time.sleep(0.5)
    assert page.locator("h2", has_text="Objetivo zafiro").count() == 1


def test_operator_sees_no_review_actions_and_forged_posts_are_refused(
    live_server: str, page: Any, services: Services
) -> None:
    lead = services.users.get("lead1")
    change = services.workflow.create(lead, "Cambio de prueba")
    head = change.head_commit
    text = (services.repository.read(head, "docs/procedures/06-calidad.md") or b"").decode() + "\nMás.\n"
    services.workflow.write(
        lead, change.number, {"docs/procedures/06-calidad.md": text.encode()}, head, "edit"
    )
    services.workflow.submit(lead, change.number)

    log_in(page, live_server, "operator1", f"/app/changes/{change.number}")
    for action in ("approve", "reject", "request-changes", "merge"):
        assert page.locator(f".btn-{action}").count() == 0
    csrf = page.request.get(live_server + "/api/me").json()["csrf_token"]
    forged = page.request.post(
        f"{live_server}/app/changes/{change.number}/approve", form={"csrf_token": csrf, "body": "ok"}
    )
    assert forged.status == 403
    merge = page.request.post(
        f"{live_server}/api/changes/{change.number}/merge", headers={"X-CSRF-Token": csrf}, data={}
    )
    assert merge.status == 403 and merge.json()["error"]["code"] == "forbidden"
    assert services.workflow.records.get(change.number).state.value == "in_review"
