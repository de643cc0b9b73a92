"""A newcomer logs in through the browser and reads the starter content in Spanish."""

from __future__ import annotations

from tests.browser.conftest import PASSWORD


def test_operator_logs_in_and_reads_the_site(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server + "/kb/red-vpn/vpn-no-conecta/")
    assert "/app/login" in page.url
    assert page.locator("h1").inner_text() == "Iniciar sesión"
    page.fill("input[name=name]", "operator1")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/kb/red-vpn/vpn-no-conecta/")
    assert page.locator("article h1").inner_text() == "La VPN no conecta"
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Responsable" in page.locator(".kb-meta").inner_text()
    page.screenshot(path="/tmp/kb-site.png")
