"""GET /api/search, /api/suggest and /api/documents over HTTP, with the search log."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from kbserver.services import Services
from kbserver.store.schema import search_log
from tests.api.conftest import login


def test_search_over_http_and_the_log(client: TestClient, app_services: Services) -> None:
    login(client, "operator1")
    response = client.get("/api/search", params={"q": "contrasena bloqueada", "limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["commit"] == app_services.main_commit()
    # The article and the chat script on a locked account, in either order.
    assert {r["id"] for r in body["results"]} == {"KB-0002", "SCR-0003"}
    page2 = client.get("/api/search", params={"q": "contrasena bloqueada", "limit": 2, "offset": 2}).json()
    assert not {r["id"] for r in page2["results"]} & {r["id"] for r in body["results"]}
    english = client.get("/api/search", params={"q": "vpn", "lang": "en", "kind": "article"}).json()
    assert {(r["lang"], r["kind"]) for r in english["results"]} == {("en", "article")}
    with app_services.engine.connect() as conn:
        rows = conn.execute(sa.select(search_log).order_by(search_log.c.id)).all()
    assert rows[0].query == "contrasena bloqueada" and rows[0].results == body["total"]
    assert rows[0].user_id == app_services.users.get("operator1").id
    assert '"kind": ["article"]' in rows[-1].filters and '"lang": ["en"]' in rows[-1].filters


def test_bad_search_input_gets_a_4xx_naming_the_problem(client: TestClient) -> None:
    login(client, "operator1")
    long = client.get("/api/search", params={"q": "x" * 5000})
    assert long.status_code == 422 and long.json()["error"]["details"][0]["field"] == "query.q"
    assert client.get("/api/search", params={"q": "vpn", "kind": "recipe"}).status_code == 422
    assert client.get("/api/search", params={"q": "vpn", "lang": "fr"}).status_code == 422
    assert client.get("/api/search", params={"q": "vpn", "limit": 0}).status_code == 422
    inline = client.get("/api/search", params={"q": "kind:recipe vpn"})
    assert inline.status_code == 422 and "unknown kind" in inline.json()["error"]["message"]
    for text in ['"abc', "-", "\x00", "lang:"]:
        assert client.get("/api/search", params={"q": text}).status_code == 200


def test_search_needs_a_reader(client: TestClient) -> None:
    assert client.get("/api/search", params={"q": "vpn"}).status_code == 401
    assert client.get("/api/documents/KB-0001").status_code == 401


def test_suggest(client: TestClient) -> None:
    login(client, "operator1")
    suggestions = client.get("/api/suggest", params={"q": "la vpn"}).json()["suggestions"]
    assert {"id": "KB-0011", "title": "La VPN no conecta"}.items() <= suggestions[0].items()


def test_document_by_id(client: TestClient, app_services: Services) -> None:
    login(client, "operator1")
    doc = client.get("/api/documents/KB-0011").json()
    assert doc["meta"]["title"] == "La VPN no conecta" and doc["kind"] == "article"
    assert '<h2 id="comprobaciones-en-orden">' in doc["html"]
    assert doc["markdown"].startswith("---\nid: KB-0011")
    assert doc["last_change"]["commit"] == app_services.main_commit()
    assert [t["id"] for t in doc["translations"]] == ["KB-0033"]
    english = client.get("/api/documents/KB-0033").json()
    assert english["translations"][0] == {
        "id": "KB-0011",
        "lang": "es",
        "title": "La VPN no conecta",
        "url": "/kb/red-vpn/vpn-no-conecta/",
        "source": True,
    }
    history = client.get("/api/documents/KB-0011/history").json()
    assert [c["commit"] for c in history["commits"]] == [app_services.main_commit()]
    assert client.get("/api/documents/KB-9999").status_code == 404
    assert client.get("/api/documents/not-an-id").status_code == 422


def test_a_deleted_index_is_rebuilt_on_start(app_services: Services) -> None:
    import shutil

    from fastapi.testclient import TestClient as Client

    from kbserver.api.app import create_app

    shutil.rmtree(app_services.settings.data_dir / "index")
    with Client(create_app(app_services.settings, app_services)) as fresh:
        app_services.wait_for_background()
        login(fresh, "operator1")
        response = fresh.get("/api/search", params={"q": "vpn"})
        assert response.status_code == 200 and response.json()["commit"] == app_services.main_commit()
