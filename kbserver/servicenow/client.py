"""The one module that talks to ServiceNow: its Table API and OAuth token endpoint, over httpx."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from kbserver.errors import KBError
from kbserver.servicenow.config import ServiceNowConfig

TABLE_API = "/api/now/table/"
TOKEN_PATH = "/oauth_token.do"
PAGE_SIZE = 1000


class ServiceNowError(KBError):
    """ServiceNow refused or did not answer; http_status is None when no answer came at all."""

    status = 502
    code = "servicenow_error"

    def __init__(self, message: str, http_status: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, {"http_status": http_status}, retry_after)
        self.http_status = http_status


class ServiceNowClient:
    """Table API calls on behalf of the integration user; safe to share between threads."""

    def __init__(self, config: ServiceNowConfig) -> None:
        self.config = config
        auth = None if config.oauth else (config.user, config.password.get_secret_value())
        self._http = httpx.Client(
            base_url=config.url,
            auth=auth,
            timeout=config.timeout,
            headers={"Accept": "application/json"},
            follow_redirects=False,  # a redirect would mean the login page, never data
        )
        self._token: tuple[str, float] | None = None  # (access token, monotonic expiry)
        self._token_lock = threading.Lock()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def records(
        self, table: str, query: str = "", fields: tuple[str, ...] = (), page_size: int = PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every record of table that matches the encoded query, page by page (Link rel="next" if given)."""
        params: dict[str, Any] | None = self._params(query, fields) | {"sysparm_limit": page_size}
        url: str = TABLE_API + table
        offset = 0
        while True:
            response = self._send("GET", url, params=params)
            page = _result(response)
            if not isinstance(page, list):
                raise ServiceNowError(f"{table}: the answer is not a list of records", response.status_code)
            yield from page
            following = response.links.get("next", {}).get("url")
            if following:
                url, params = following, None  # the link carries every parameter
            elif len(page) < page_size:
                return
            else:  # an instance that sends no Link header: page by offset
                offset += len(page)
                url = TABLE_API + table
                params = self._params(query, fields) | {"sysparm_limit": page_size, "sysparm_offset": offset}

    def first(self, table: str, query: str, fields: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """The first record that matches, or None."""
        params = self._params(query, fields) | {"sysparm_limit": 1}
        found = _result(self._send("GET", TABLE_API + table, params=params))
        return found[0] if isinstance(found, list) and found else None

    def create(self, table: str, values: dict[str, Any]) -> dict[str, Any]:
        """Insert a record; returns it as stored."""
        params = {"sysparm_exclude_reference_link": "true"}
        return _record(self._send("POST", TABLE_API + table, params=params, json=values))

    def update(self, table: str, sys_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """Change fields of one record (a work note is appended by writing `work_notes`)."""
        params = {"sysparm_exclude_reference_link": "true", "sysparm_fields": "sys_id,number"}
        return _record(self._send("PATCH", f"{TABLE_API}{table}/{sys_id}", params=params, json=values))

    @staticmethod
    def _params(query: str, fields: tuple[str, ...]) -> dict[str, Any]:
        params: dict[str, Any] = {"sysparm_exclude_reference_link": "true"}
        if query:
            params["sysparm_query"] = query
        if fields:
            params["sysparm_fields"] = ",".join(fields)
        return params

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access_token()}"} if self.config.oauth else {}
            try:
                response = self._http.request(method, url, headers=headers, **kwargs)
            except httpx.TimeoutException:
                raise ServiceNowError(f"ServiceNow did not answer {method} within the timeout") from None
            except httpx.HTTPError as exc:
                raise ServiceNowError(f"ServiceNow cannot be reached ({type(exc).__name__})") from None
            if response.status_code == 401 and self.config.oauth and attempt == 1:
                self._token = None  # expired or revoked early: one new token, then the answer stands
                continue
            _raise_for(response, method)
            return response
        raise AssertionError("unreachable")

    def _access_token(self) -> str:
        with self._token_lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
            form = {
                "grant_type": "client_credentials",
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret.get_secret_value(),
            }
            try:
                response = self._http.post(TOKEN_PATH, data=form)
            except httpx.HTTPError as exc:
                raise ServiceNowError(
                    f"ServiceNow's token endpoint cannot be reached ({type(exc).__name__})"
                ) from None
            _raise_for(response, "POST /oauth_token.do")
            body = response.json()
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise ServiceNowError("ServiceNow's token endpoint answered without an access token", 200)
            lifetime = float(body.get("expires_in") or 1800)
            self._token = (token, time.monotonic() + max(lifetime - 60, lifetime / 2))  # renewed early
            return token


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    status = response.status_code
    retry_after = _seconds(response.headers.get("Retry-After")) if status in (429, 503) else None
    reason = {401: "the credentials were refused", 403: "the integration user lacks a role (ACL)"}.get(
        status, _message(response)
    )
    raise ServiceNowError(f"ServiceNow answered {status} to {what}: {reason}", status, retry_after)


def _seconds(value: str | None) -> int | None:
    # Retry-After may also be an HTTP date; ServiceNow sends seconds, and a date is treated as "soon".
    if not value:
        return None
    return max(0, int(value)) if value.strip().isdigit() else 1


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        return str(error.get("message") or error.get("detail") or response.reason_phrase)[:200]
    except (ValueError, AttributeError):
        return response.reason_phrase


def _result(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        raise ServiceNowError("ServiceNow answered with something that is not JSON", 200) from None
    if not isinstance(body, dict) or "result" not in body:
        raise ServiceNowError("ServiceNow's answer has no result", response.status_code)
    return body["result"]


def _record(response: httpx.Response) -> dict[str, Any]:
    found = _result(response)
    if not isinstance(found, dict):
        raise ServiceNowError("ServiceNow's answer is not a record", response.status_code)
    return found
