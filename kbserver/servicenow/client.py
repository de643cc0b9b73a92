"""The one module that talks to ServiceNow: its Table API and OAuth token endpoint, over urllib3.

urllib3 rather than httpx: a Table API call took 170 µs of CPU against httpx's 400 µs (measured against the
stand-in), and the delivery process shares the host's cores with the requests operators wait on.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3

from kbserver import __version__
from kbserver.errors import KBError
from kbserver.servicenow.config import ServiceNowConfig

TABLE_API = "/api/now/table/"
TOKEN_PATH = "/oauth_token.do"
PAGE_SIZE = 1000
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^,;]+)*)")


class ServiceNowError(KBError):
    """ServiceNow refused or did not answer; http_status is None when no answer came at all."""

    status = 502
    code = "servicenow_error"

    def __init__(self, message: str, http_status: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, {"http_status": http_status}, retry_after)
        self.http_status = http_status


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read whole."""

    status: int
    reason: str
    headers: urllib3.HTTPHeaderDict
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class ServiceNowClient:
    """Table API calls on behalf of the integration user; safe to share between threads."""

    def __init__(self, config: ServiceNowConfig) -> None:
        self.config = config
        parts = urlsplit(config.url)
        self._origin = f"{parts.scheme}://{parts.netloc}".lower()
        self._prefix = parts.path.rstrip("/")  # an instance behind a path: every call goes under it
        self._headers = {"Accept": "application/json", "User-Agent": f"kb-servicenow/{__version__}"}
        if not config.oauth:
            pair = f"{config.user}:{config.password.get_secret_value()}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        # One pool for the one instance (thread-safe); no retries or redirects of its own: a redirect means
        # the login page, never data, and a failed call is the outbox's to retry.
        self._pool = urllib3.connection_from_url(
            config.url,
            maxsize=4,
            timeout=urllib3.Timeout(connect=config.timeout, read=config.timeout),
            retries=False,
        )
        self._token: tuple[str, float] | None = None  # (access token, monotonic expiry)
        self._token_lock = threading.Lock()

    def close(self) -> None:
        """Close the connections."""
        self._pool.close()

    def records(
        self, table: str, query: str = "", fields: tuple[str, ...] = (), page_size: int = PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every record of table that matches the encoded query, page by page (Link rel="next" if given)."""
        params: dict[str, Any] | None = self._params(query, fields) | {"sysparm_limit": page_size}
        url: str = TABLE_API + table
        offset, linked = 0, False
        while True:
            response = self._send("GET", url, params=params)
            page = _result(response)
            if not isinstance(page, list):
                raise ServiceNowError(f"{table}: the answer is not a list of records", response.status)
            yield from page
            following = _next_link(response)
            if following:
                url, params = following, None  # the link carries every parameter
                linked = True
            elif linked or len(page) < page_size:  # (a full last page has no rel="next" either)
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

    def _send(self, method: str, url: str, params: dict[str, Any] | None = None, json: Any = None) -> Answer:
        target = self._target(url, params)
        body = None if json is None else _json_bytes(json)
        for attempt in (1, 2):
            headers = dict(self._headers)
            if self.config.oauth:
                headers["Authorization"] = f"Bearer {self._access_token()}"
            if body is not None:
                headers["Content-Type"] = "application/json"
            answer = self._call(method, target, body, headers)
            if answer.status == 401 and self.config.oauth and attempt == 1:
                self._token = None  # expired or revoked early: one new token, then the answer stands
                continue
            _raise_for(answer, method)
            return answer
        raise AssertionError("unreachable")

    def _target(self, url: str, params: dict[str, Any] | None) -> str:
        """The path and query to ask the pool for; a link the instance gave must point at the instance."""
        if "://" in url:
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}".lower() != self._origin:
                raise ServiceNowError(f"ServiceNow sent a link to another host ({parts.netloc})")
            url = parts.path + (f"?{parts.query}" if parts.query else "")
        else:
            url = self._prefix + url
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return url

    def _call(self, method: str, target: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        try:
            response = self._pool.urlopen(
                method, target, body=body, headers=headers, redirect=False, assert_same_host=False
            )
        except urllib3.exceptions.HTTPError as exc:
            errors = urllib3.exceptions  # (a refused connection is a TimeoutError, for history's sake)
            if isinstance(exc, errors.TimeoutError) and not isinstance(exc, errors.NewConnectionError):
                raise ServiceNowError(f"ServiceNow did not answer {method} within the timeout") from None
            raise ServiceNowError(f"ServiceNow cannot be reached ({type(exc).__name__})") from None
        return Answer(response.status, response.reason or "", response.headers, response.data)

    def _access_token(self) -> str:
        with self._token_lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
            form = {
                "grant_type": "client_credentials",
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret.get_secret_value(),
            }
            headers = self._headers | {"Content-Type": "application/x-www-form-urlencoded"}
            answer = self._call("POST", self._prefix + TOKEN_PATH, urlencode(form).encode(), headers)
            _raise_for(answer, "POST /oauth_token.do")
            try:
                body = answer.json()
            except ValueError:
                body = None
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise ServiceNowError("ServiceNow's token endpoint answered without an access token", 200)
            lifetime = float(body.get("expires_in") or 1800)
            self._token = (token, time.monotonic() + max(lifetime - 60, lifetime / 2))  # renewed early
            return token


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _next_link(answer: Answer) -> str | None:
    """The URL of the Link header's rel="next", if any (RFC 8288)."""
    for target, attributes in _LINK.findall(answer.headers.get("Link", "")):
        for attribute in attributes.split(";"):
            name, _, value = attribute.partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return str(target)
    return None


def _raise_for(response: Answer, what: str) -> None:
    if 200 <= response.status < 300:
        return
    status = response.status
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


def _message(response: Answer) -> str:
    try:
        error = response.json().get("error") or {}
        return str(error.get("message") or error.get("detail") or response.reason)[:200]
    except (ValueError, AttributeError):
        return response.reason


def _result(response: Answer) -> Any:
    try:
        body = response.json()
    except ValueError:
        raise ServiceNowError("ServiceNow answered with something that is not JSON", 200) from None
    if not isinstance(body, dict) or "result" not in body:
        raise ServiceNowError("ServiceNow's answer has no result", response.status)
    return body["result"]


def _record(response: Answer) -> dict[str, Any]:
    found = _result(response)
    if not isinstance(found, dict):
        raise ServiceNowError("ServiceNow's answer is not a record", response.status)
    return found
