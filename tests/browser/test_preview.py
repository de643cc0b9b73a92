"""The approver's preview is the page operators get: the same rendered article body, compared in Chromium
(issue 11)."""

from __future__ import annotations

from typing import Any

from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from tests.browser.conftest import log_in

PATH = "docs/kb/red-vpn/vpn-lenta.md"
ADDED = """
!!! warning "Antes de empezar"
    Compruebe la conexión **sin** VPN.

| Paso | Tiempo |
|:-----|-------:|
| Reiniciar | 2 min |

Véase [la VPN no conecta](vpn-no-conecta.md#cuando-escalar) y [el manual](../../procedures/index.md).
{: .kb-note #nota }

<script>alert(1)</script> shown as text
"""
PUBLISHED_BODY = """async (url) => {
  const html = await (await fetch(url)).text();
  return new DOMParser().parseFromString(html, "text/html").querySelector(".kb-body").innerHTML;
}"""


def test_the_approvers_preview_is_the_published_body(live_server: str, page: Any, services: Services) -> None:
    repo = services.repository
    text = (repo.read("main", PATH) or b"").decode() + ADDED
    lead = services.users.get("lead1")
    change = services.workflow.create(lead, "VPN lenta: aviso y tabla")
    services.workflow.write(lead, change.number, {PATH: text.encode()}, change.head_commit, "edit")
    services.workflow.submit(lead, change.number)
    # The same text published on main, and the site rebuilt from it.
    published = repo.commit_files("main", {PATH: text.encode()}, "publish", SERVICE_AUTHOR, repo.head("main"))
    services.site.build(repo, published)

    log_in(page, live_server, "approver1", f"/app/changes/{change.number}")
    preview = page.locator(".rendered").first
    assert preview.locator(".admonition.warning .admonition-title").inner_text() == "Antes de empezar"
    assert preview.locator("th[align=right]").count() == 1 and preview.locator("p#nota.kb-note").count() == 1
    site_body = page.evaluate(PUBLISHED_BODY, f"{live_server}/kb/red-vpn/vpn-lenta/")
    assert preview.inner_html() == site_body

    page.goto(f"{live_server}/kb/red-vpn/vpn-lenta/")  # and operators see it with the theme around it
    assert page.locator(".kb-body .admonition.warning").count() == 1
    assert page.locator(".kb-body a[href='../vpn-no-conecta/#cuando-escalar']").count() == 1
