"""Role boundaries, sessions with CSRF, bearer tokens, public read, and secrets kept out of logs."""

from __future__ import annotations

import logging
import re
import time

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from kbserver.api.app import create_app
from kbserver.services import Services
from tests.api.conftest import PASSWORD, login


def test_everything_needs_login_by_default(client: TestClient) -> None:
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/users").status_code == 401
    page = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/app/login")
    body = client.get("/kb/").json()
    assert body["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("name", "status"), [("operator1", 403), ("lead1", 403), ("approver1", 403), ("admin1", 200)]
)
def test_only_admins_manage_users(client: TestClient, name: str, status: int) -> None:
    login(client, name)
    assert client.get("/api/users").status_code == status


def test_forbidden_error_names_the_role(client: TestClient) -> None:
    csrf = login(client, "operator1")
    response = client.post("/api/users", json={"name": "x1", "role": "admin"}, headers={"x-csrf-token": csrf})
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "forbidden",
        "message": "this needs the role admin; you are operator",
        "details": None,
    }


def test_every_role_reads_the_site_in_spanish(client: TestClient) -> None:
    for name in ("operator1", "lead1", "approver1", "admin1"):
        login(client, name)
        page = client.get("/kb/red-vpn/vpn-no-conecta/")
        assert page.status_code == 200
        assert "La VPN no conecta" in page.text and 'lang="es"' in page.text
        client.cookies.clear()


def test_session_writes_need_the_csrf_token(client: TestClient) -> None:
    csrf = login(client, "admin1")
    new = {"name": "nuevo", "role": "operator", "password": "another-password"}
    assert client.post("/api/users", json=new).status_code == 403
    assert client.post("/api/users", json=new, headers={"x-csrf-token": "wrong"}).status_code == 403
    assert client.post("/api/users", json=new, headers={"x-csrf-token": csrf}).status_code == 201


def test_bearer_token_without_csrf_and_revocation(client: TestClient, app_services: Services) -> None:
    token = app_services.users.issue_token("admin1")
    headers = {"authorization": f"Bearer {token}"}
    assert client.get("/api/users", headers=headers).status_code == 200
    new = {"name": "robot", "role": "operator"}
    assert client.post("/api/users", json=new, headers=headers).status_code == 201
    app_services.users.add("admin2", "admin", PASSWORD)  # admin1 is not the last admin, so may go
    app_services.users.disable("admin1")
    assert client.get("/api/users", headers=headers).status_code == 401
    assert client.get("/api/me", headers={"authorization": "Basic abc"}).status_code == 401


def test_public_read_opens_reading_only(app_services: Services) -> None:
    settings = app_services.settings.model_copy(update={"public_read": True})
    app_services.settings = settings
    with TestClient(create_app(settings, app_services)) as anonymous:
        assert anonymous.get("/kb/").status_code == 200
        assert anonymous.get("/api/users").status_code == 401
        assert anonymous.get("/api/me").status_code == 401


def test_login_form_with_csrf_and_logout(client: TestClient) -> None:
    form = client.get("/app/login")
    assert form.status_code == 200 and "Iniciar sesión" in form.text
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    forged = client.post("/app/login", data={"name": "lead1", "password": PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 403
    wrong = client.post("/app/login", data={"name": "lead1", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "incorrectos" in wrong.text
    ok = client.post(
        "/app/login",
        data={"name": "lead1", "password": PASSWORD, "csrf_token": token, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/app"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    home = client.get("/app?lang=en")
    assert "Hello, lead1" in home.text and "L2 lead" in home.text
    csrf = home.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/app/logout", data={"csrf_token": "x"}).status_code == 403
    assert client.post("/app/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/api/me").status_code == 401


def test_no_secret_in_logs(
    client: TestClient, app_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = app_services.users.issue_token("lead1")
    client.get("/api/me", headers={"authorization": f"Bearer {token}"})
    client.post("/api/session", json={"name": "lead1", "password": "bad-password-xyz"})
    login(client, "lead1")
    assert PASSWORD not in caplog.text and token not in caplog.text and "bad-password-xyz" not in caplog.text


def test_error_shape(client: TestClient) -> None:
    login(client, "admin1")
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and set(missing.json()["error"]) == {"code", "message", "details"}
    bad = client.post("/api/session", json={"name": ""})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_input"
    assert {d["field"] for d in bad.json()["error"]["details"]} == {"name", "password"}


def test_health_reports_the_commit(client: TestClient, app_services: Services) -> None:
    health = client.get("/api/health").json()
    assert health["commit"] == app_services.main_commit()
    assert health["site"] == {"commit": app_services.main_commit(), "ready": True}


def test_the_site_is_compressed_and_the_api_and_console_are_not(client: TestClient) -> None:
    csrf = login(client, "operator1")
    gzip = {"accept-encoding": "gzip"}
    page = client.get("/kb/red-vpn/vpn-no-conecta/", headers=gzip)
    assert page.headers.get("content-encoding") == "gzip" and "La VPN no conecta" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    script = client.get("/assets/kb/kb.js", headers=gzip)
    assert script.status_code == 200 and script.headers.get("content-encoding") == "gzip"
    plain = client.get("/kb/red-vpn/vpn-no-conecta/", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == page.text
    # Responses that carry the CSRF token beside user input stay uncompressed (BREACH).
    me = client.get("/api/me", headers=gzip)
    assert me.json()["csrf_token"] == csrf and "content-encoding" not in me.headers
    search = client.get("/api/search", params={"q": "vpn " * 200}, headers=gzip)
    assert (
        search.status_code == 200 and len(search.content) > 1024 and "content-encoding" not in search.headers
    )
    console = client.get("/app/changes", headers=gzip)
    assert console.status_code == 200 and "content-encoding" not in console.headers
    assert client.get("/app/static/console.css", headers=gzip).headers.get("content-encoding") == "gzip"


def test_site_files_are_revalidated_and_hashed_bundles_cached(client: TestClient) -> None:
    login(client, "operator1")
    page = client.get("/en/kb/red-vpn/vpn-no-conecta/")
    etag = page.headers["etag"]
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    again = client.get("/en/kb/red-vpn/vpn-no-conecta/", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = client.get("/en/kb/red-vpn/vpn-no-conecta/", headers={"if-none-match": '"stale"'})
    assert other.status_code == 200 and other.text == page.text
    bundles = re.findall(r'src="[./]*(assets/javascripts/bundle\.[0-9a-f]{8}\.min\.js)"', page.text)
    assert bundles
    bundle = client.get("/en/" + bundles[0])
    assert bundle.status_code == 200 and "immutable" in bundle.headers["cache-control"]
    assert (
        client.get("/assets/kb/kb.js").headers["cache-control"] == "no-cache"
    )  # ours has no hash in its name
    client.cookies.clear()
    assert client.get("/en/kb/red-vpn/vpn-no-conecta/", headers={"if-none-match": etag}).status_code == 401


def test_failed_logins_are_throttled_with_retry_after(app_services: Services) -> None:
    app = create_app(app_services.settings, app_services)
    with (
        TestClient(app, client=("203.0.113.66", 40000)) as attacker,
        TestClient(app, client=("192.0.2.10", 40000)) as desk,
    ):

        def guess(n: int) -> Response:
            return attacker.post("/api/session", json={"name": "lead1", "password": f"guess-{n}"})

        assert [guess(n).status_code for n in range(5)] == [401] * 5  # five go without a wait
        refused = guess(5)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["retry-after"]) <= 2
        # Each failure after the wait doubles it: 1 s, then 2 s, then 4 s, which leaves a slow machine time
        # for what follows.
        for n, wait in ((6, 1.05), (7, 2.05)):
            time.sleep(wait)
            assert guess(n).status_code == 401
        statuses = [guess(n).status_code for n in range(8, 62)]
        assert set(statuses) == {429}  # refused attempts are not counted: the account rule (50) never trips
        right = attacker.post("/api/session", json={"name": "lead1", "password": PASSWORD})
        assert right.status_code == 429  # a throttled attempt is not even checked
        # The real user, elsewhere, is not held off by the attacker.
        assert desk.post("/api/session", json={"name": "lead1", "password": PASSWORD}).status_code == 200
        # The console's form says it too, in the user's language, with the same header.
        form = attacker.get("/app/login?lang=en")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        page = attacker.post("/app/login", data={"name": "lead1", "password": PASSWORD, "csrf_token": token})
        assert page.status_code == 429 and "Too many failed attempts" in page.text
        assert int(page.headers["retry-after"]) >= 1


def test_admins_enable_users_and_not_disable_the_last_admin(client: TestClient) -> None:
    csrf = {"x-csrf-token": login(client, "admin1")}
    assert client.post("/api/users/operator1/disable", headers=csrf).json()["disabled"] is True
    assert client.post("/api/users/operator1/enable", headers=csrf).json()["disabled"] is False
    last = client.post("/api/users/admin1/disable", headers=csrf)
    assert last.status_code == 409 and "last active admin" in last.json()["error"]["message"]
    client.cookies.clear()
    login(client, "operator1")
    assert client.post("/api/users/operator1/enable", headers={"x-csrf-token": "x"}).status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"name": "admin\n", "role": "admin"},
        {"name": "eva", "role": "approver", "display_name": "Eva\nApproved-by: X <x@x> (approver)"},
        {"name": "eva", "role": "approver", "email": "eva@x.test\r\nApproved-by: X <x@x> (approver)"},
        {"name": "eva", "role": "approver", "display_name": "Eva\x07"},
    ],
)
def test_names_display_names_and_emails_are_one_line(client: TestClient, body: dict[str, str]) -> None:
    csrf = {"x-csrf-token": login(client, "admin1")}
    refused = client.post("/api/users", json=body, headers=csrf)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_input"
    names = [u["name"] for u in client.get("/api/users").json()]
    assert names == ["admin1", "approver1", "lead1", "operator1"]


def test_one_api_token_is_revoked_over_http(client: TestClient, app_services: Services) -> None:
    kept, revoked = app_services.users.issue_token("lead1"), app_services.users.issue_token("lead1")
    as_lead = {"authorization": f"Bearer {kept}"}
    tokens = client.get("/api/users/lead1/tokens", headers=as_lead).json()
    assert len(tokens) == 2 and kept not in str(tokens) and revoked not in str(tokens)
    other = client.get("/api/users/operator1/tokens", headers=as_lead)
    assert other.status_code == 403  # only an admin, or the owner
    gone = client.delete(f"/api/users/lead1/tokens/{tokens[1]['id']}", headers=as_lead)
    assert gone.status_code == 204
    assert client.get("/api/me", headers={"authorization": f"Bearer {revoked}"}).status_code == 401
    assert client.get("/api/me", headers=as_lead).status_code == 200
    again = client.delete(f"/api/users/lead1/tokens/{tokens[1]['id']}", headers=as_lead)
    assert again.status_code == 404


def test_api_docs_come_from_the_service_and_need_a_login(client: TestClient, app_services: Services) -> None:
    paths = ["/api/docs", "/api/openapi.json", "/api/docs/assets/swagger-ui-bundle.js"]
    for path in paths:
        assert client.get(path).status_code == 401, path
    browser = client.get("/api/docs", headers={"accept": "text/html"}, follow_redirects=False)
    assert browser.status_code == 303 and browser.headers["location"] == "/app/login?next=/api/docs"
    login(client, "operator1")
    page = client.get("/api/docs")
    assert page.status_code == 200 and "<script>" not in page.text  # no inline script: the CSP holds
    assert "script-src 'self'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/api/docs/assets/") for s in sources)
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert "/api/search" in client.get("/api/openapi.json").json()["paths"]
    assert client.get("/api/docs/assets/..%2f..%2fsettings.py").status_code == 404
    client.cookies.clear()
    app_services.settings = app_services.settings.model_copy(update={"public_read": True})
    with TestClient(create_app(app_services.settings, app_services)) as anonymous:
        assert all(anonymous.get(path).status_code == 200 for path in paths)
