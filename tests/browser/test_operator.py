"""The operator in Chromium: live search without accents, feedback with a ticket, script variables, copy."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kbserver.services import Services
from kbserver.store.schema import feedback, search_log
from tests.browser.conftest import log_in


def test_search_open_and_mark_helpful_with_a_ticket(live_server: str, page: Any, services: Services) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    log_in(page, live_server, "operator1", "/")
    page.click("label.md-header__button[for=__search]") if page.is_visible(
        "label.md-header__button[for=__search]"
    ) else None
    page.fill("#kb-q", "")
    page.type("#kb-q", "contrasena bloqueada intentos", delay=20)  # the article, not its chat script
    first = page.locator("#kb-results .md-search-result__link").first
    first.wait_for(timeout=15_000)
    # Results come as the words are typed: wait for those of the whole query (an article first), or fail.
    page.wait_for_function(
        "() => (document.querySelector('#kb-results .md-search-result__link') || {})"
        ".innerText?.includes('artículo')",
        timeout=15_000,
    )
    assert "Cuenta bloqueada" in first.inner_text()
    assert first.locator("mark").count() >= 1  # highlighted snippet, built as nodes
    assert "artículo" in first.inner_text() and "es" in first.locator(".md-tag").all_inner_texts()
    page.keyboard.press("ArrowDown")
    assert "kb-active" in (first.get_attribute("class") or "")
    page.keyboard.press("Enter")
    page.wait_for_url("**/kb/cuentas/**")
    assert "Cuenta bloqueada" in page.locator("article h1").inner_text()
    assert not [u for u in requests if "search_index.json" in u or "lunr" in u]  # Material's lunr never loads

    form = page.locator("form[name=kbfeedback]")
    form.locator("[data-helpful=true]").click()
    form.locator("input[name=ticket]").fill("12345")  # malformed: refused in the browser
    form.locator("button[type=submit]").click()
    page.wait_for_selector("form[name=kbfeedback] .kb-status[data-state=error]")
    assert "INC" in form.locator(".kb-status").inner_text()  # the message names the configured pattern
    form.locator("input[name=ticket]").fill("inc0012345")
    form.locator("select[name=outcome]").select_option("resolved")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("form[name=kbfeedback] .kb-status[data-state=sent]")

    with services.engine.connect() as conn:
        rows = conn.execute(sa.select(feedback.c.doc_id, feedback.c.ticket, feedback.c.helpful)).all()
        opened = conn.execute(sa.select(search_log.c.opened_doc_id, search_log.c.linked)).all()
    doc_id = page.locator(".kb-meta").get_attribute("data-kb-id")
    assert rows == [(doc_id, "INC0012345", True)]
    assert (doc_id, True) in [tuple(r) for r in opened]  # the search is neither a gap nor unopened


def test_script_variables_fill_the_lines_and_copy_them(live_server: str, page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, live_server, "operator1", "/scripts/apertura-verificacion/")
    page.fill("form[name=kbvars] input[name=operator_name]", "Marta")
    page.fill("form[name=kbvars] input[name=user_name]", "Jorge Pérez")
    line = page.locator("blockquote", has_text="Gracias, Jorge Pérez").first
    line.locator(".kb-copy").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Gracias, Jorge Pérez. Le envío una notificación")
    assert "{{" not in copied
    greeting = page.locator("blockquote").first.inner_text()
    assert "Hola, soy Marta" in greeting
    page.locator(".md-content a[href='#5-verificacion-alternativa']").first.click()
    assert page.url.endswith("#5-verificacion-alternativa")
    assert page.locator(".kb-deviate").count() == 6  # one per step
