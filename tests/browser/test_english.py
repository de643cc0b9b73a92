"""The English build of the site in Chromium: its own words, search results and translations that stay in it,
and the did-you-mean link."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import log_in


def test_the_english_site_keeps_search_and_translations_in_english(live_server: str, page: Any) -> None:
    log_in(page, live_server, "operator1", "/en/kb/red-vpn/vpn-no-conecta/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#kb-q").get_attribute("placeholder") == "Search"

    # The Spanish article links to its English translation, inside the English build.
    translation = page.locator(".kb-translations a[hreflang=en]")
    translation.wait_for(timeout=15_000)
    assert translation.get_attribute("href") == "/en/kb/red-vpn/vpn-not-connecting/"
    assert "The VPN does not connect" in translation.inner_text()
    assert page.locator(".kb-translations").inner_text().startswith("· Translation:")
    translation.click()
    page.wait_for_url("**/en/kb/red-vpn/vpn-not-connecting/")
    original = page.locator(".kb-translations a[hreflang=es]")
    original.wait_for(timeout=15_000)
    assert original.get_attribute("href") == "/en/kb/red-vpn/vpn-no-conecta/"

    # A typo gets "Did you mean", which searches again; the results link into /en/.
    page.fill("#kb-q", "")
    page.type("#kb-q", "impresroa", delay=20)
    suggestion = page.locator("#kb-search-suggestion a.kb-suggestion")
    suggestion.wait_for(timeout=15_000)
    assert page.locator("#kb-search-suggestion").inner_text().startswith("Did you mean ")
    word = suggestion.inner_text()
    suggestion.click()
    page.wait_for_function(f"() => document.getElementById('kb-q').value === {word!r}")
    first = page.locator("#kb-results .md-search-result__link").first
    first.wait_for(timeout=15_000)
    page.wait_for_function("() => /result/.test(document.getElementById('kb-search-count').textContent)")
    assert (first.get_attribute("href") or "").startswith("/en/")
    first.click()
    page.wait_for_url("**/en/**")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".kb-meta").get_attribute("data-kb-id")


def test_the_spanish_site_offers_english(live_server: str, page: Any) -> None:
    log_in(page, live_server, "operator1", "/kb/red-vpn/vpn-no-conecta/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("a.md-select__link[hreflang=en]").get_attribute("href") == "/en/"
    translation = page.locator(".kb-translations a[hreflang=en]")
    translation.wait_for(timeout=15_000)
    assert translation.get_attribute("href") == "/kb/red-vpn/vpn-not-connecting/"
    assert page.locator(".kb-translations").inner_text().startswith("· Traducción:")
