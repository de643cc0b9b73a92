"""A ServiceNow stand-in for tests, written from the public Table API documentation.

A real HTTP server on loopback with in-memory tables: `incident` (and `task`, its parent, over the same
rows), `sys_user_group`, `kb_knowledge`, `m2m_kb_task`, `sys_journal_field` (work notes written through
PATCH `work_notes`) and `asmt_metric_result`; basic auth and `/oauth_token.do` (client credentials); encoded
queries with the operators the connector uses, dot-walked fields, paging with `Link` and `X-Total-Count`.
It can be told to fail: a status (500, 429 with Retry-After), a late answer after doing the work (the client
times out), or to be down altogether. It stands in for an external system; nothing of the product is in it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

NUMBERED = {"incident": "INC", "kb_knowledge": "KB"}
REFERENCES = {  # table -> reference field -> the table it points at
    "incident": {"assignment_group": "sys_user_group"},
    "task": {"assignment_group": "sys_user_group"},
    "m2m_kb_task": {"task": "task", "kb_knowledge": "kb_knowledge"},
    "asmt_metric_result": {"instance": "asmt_assessment_instance"},
    "asmt_assessment_instance": {"trigger_id": "task"},
}
VIEWS = {"task": "incident"}  # task is incident's parent table; here it holds only incidents
_CONDITION = re.compile(
    r"^([a-z0-9_.]+)(ISNOTEMPTY|ISEMPTY|!=|>=|<=|>|<|=|NOT IN|IN|STARTSWITH|ENDSWITH|NOTLIKE|LIKE)(.*)$", re.S
)


def timestamp(moment: datetime | None = None) -> str:
    """A date-time as the Table API writes it (UTC, no zone)."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Fault:
    """What the next matching request gets instead of a plain answer."""

    status: int = 500
    retry_after: int | None = None
    late: float = 0.0  # > 0: do the work, then answer this many seconds later
    methods: tuple[str, ...] = ("GET", "POST", "PATCH")


@dataclass
class StandIn:
    """The server and its tables; tests seed, break and inspect it."""

    user: str = "svc.kb"
    password: str = "integration-pass"
    client_id: str = "kb-client"
    client_secret: str = "kb-client-secret"
    token_seconds: int = 1800
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[float, str, str, int]] = field(default_factory=list)  # (time, method, path, status)
    tokens: dict[str, float] = field(default_factory=dict)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def url(self) -> str:
        """The instance URL to configure the connector with."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandIn:
        """Listen on loopback (on the same port again after a stop)."""
        handler = type("Handler", (_Handler,), {"standin": self})
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="servicenow-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        """Go down: connections are refused until start()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # Seeding and inspecting

    def insert(self, table: str, **values: Any) -> dict[str, Any]:
        """Add a record as the instance would store it; returns it."""
        with self._lock:
            rows = self.tables.setdefault(table, {})
            record = {k: "" if v is None else str(v) for k, v in values.items()}
            record.setdefault("sys_id", uuid.uuid4().hex)
            record.setdefault("sys_created_on", timestamp())
            record.setdefault("sys_updated_on", record["sys_created_on"])
            if table == "incident":
                record.setdefault("sys_class_name", "incident")  # as task's child table, the instance sets it
            if table in NUMBERED and not record.get("number"):
                record["number"] = f"{NUMBERED[table]}{len(rows) + 1:07d}"
            rows[record["sys_id"]] = record
            return record

    def update(self, table: str, sys_id: str, **values: Any) -> dict[str, Any]:
        """Change a record as a person would in the instance (sys_updated_on moves unless given)."""
        with self._lock:
            record = self.tables[table][sys_id]
            record.update({k: "" if v is None else str(v) for k, v in values.items()})
            if "sys_updated_on" not in values:
                record["sys_updated_on"] = timestamp()
            return record

    def rows(self, table: str, **match: str) -> list[dict[str, Any]]:
        """The records of table whose fields equal match."""
        with self._lock:
            found = self.tables.get(VIEWS.get(table, table), {}).values()
            return [dict(r) for r in found if all(r.get(k) == v for k, v in match.items())]

    def work_notes(self, sys_id: str) -> list[str]:
        """The work notes journaled on a task, oldest first."""
        notes = self.rows("sys_journal_field", element="work_notes", element_id=sys_id)
        return [n["value"] for n in sorted(notes, key=lambda n: n["sys_created_on"])]

    # Serving

    def answer(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """The status, JSON body and headers for a request that passed authentication."""
        parts = path.strip("/").split("/")
        if parts[:3] != ["api", "now", "table"] or len(parts) not in (4, 5):
            return 404, _error("Requested URI does not represent any resource"), {}
        table = parts[3]
        with self._lock:
            if len(parts) == 4 and method == "GET":
                return self._list(table, path, query)
            if len(parts) == 4 and method == "POST":
                if not isinstance(body, dict):
                    return 400, _error("Exception while reading request"), {}
                record = self.insert(table, **{k: v for k, v in body.items() if k != "sys_id"})
                return 201, {"result": self._fields(table, record, query)}, {}
            record = self.tables.get(VIEWS.get(table, table), {}).get(parts[4]) if len(parts) == 5 else None
            if record is None:
                return 404, _error("No Record found"), {}
            if method == "GET":
                return 200, {"result": self._fields(table, record, query)}, {}
            if method in ("PATCH", "PUT") and isinstance(body, dict):
                self._patch(table, record, body)
                return 200, {"result": self._fields(table, record, query)}, {}
        return 405, _error("Method not supported"), {}

    def _patch(self, table: str, record: dict[str, Any], body: dict[str, Any]) -> None:
        for journal in ("work_notes", "comments"):
            text = body.pop(journal, None)
            if text:  # a journal field is written to sys_journal_field, never kept on the record
                self.insert(
                    "sys_journal_field",
                    element=journal,
                    element_id=record["sys_id"],
                    name=VIEWS.get(table, table),
                    value=text,
                    sys_created_on=timestamp(),
                )
        record.update({k: "" if v is None else str(v) for k, v in body.items()})
        record["sys_updated_on"] = timestamp()

    def _list(self, table: str, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        rows = list(self.tables.get(VIEWS.get(table, table), {}).values())
        conditions, order = _parse(query.get("sysparm_query", ""))
        found = [r for r in rows if _matches(self, table, r, conditions)]
        for name, descending in reversed(order):
            found.sort(key=lambda r, n=name: _sortable(self._walk(table, r, n)), reverse=descending)
        limit = int(query.get("sysparm_limit") or 10000)
        offset = int(query.get("sysparm_offset") or 0)
        page = [self._fields(table, r, query) for r in found[offset : offset + limit]]
        headers = {"X-Total-Count": str(len(found))}
        links = []
        for rel, start in (("first", 0), ("prev", offset - limit), ("next", offset + limit)):
            if (rel == "prev" and offset == 0) or (rel == "next" and offset + limit >= len(found)):
                continue
            links.append(
                f'<{self.url}{path}?{urlencode({**query, "sysparm_offset": max(start, 0)})}>;rel="{rel}"'
            )
        if len(found) > limit:
            last = (len(found) - 1) // limit * limit
            links.append(f'<{self.url}{path}?{urlencode({**query, "sysparm_offset": last})}>;rel="last"')
            headers["Link"] = ",".join(links)
        return 200, {"result": page}, headers

    def _fields(self, table: str, record: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        wanted = [f for f in query.get("sysparm_fields", "").split(",") if f]
        if not wanted:
            return dict(record, work_notes="", comments="")
        return {name: self._walk(table, record, name) for name in wanted}

    def _walk(self, table: str, record: dict[str, Any], name: str) -> str:
        """A field's value, following references for dot-walked names such as assignment_group.name."""
        head, _, rest = name.partition(".")
        value = record.get(head, "")
        if not rest:
            return str(value)
        target = REFERENCES.get(table, {}).get(head)
        referenced = self.tables.get(VIEWS.get(target or "", target or ""), {}).get(value) if target else None
        return self._walk(target or "", referenced, rest) if referenced else ""

    def token(self, form: dict[str, str]) -> tuple[int, Any]:
        """The OAuth token endpoint: client credentials (or a user's password) for a bearer token."""
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 401, {"error": "access_denied", "error_description": "access_denied"}
        grant = form.get("grant_type")
        if grant == "password" and (form.get("username"), form.get("password")) != (self.user, self.password):
            return 401, {"error": "access_denied", "error_description": "access_denied"}
        if grant not in ("client_credentials", "password"):
            return 400, {"error": "unsupported_grant_type"}
        token = uuid.uuid4().hex
        self.tokens[token] = time.monotonic() + self.token_seconds
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_seconds,
            "scope": "",
        }

    def authorized(self, header: str | None) -> bool:
        """Whether the Authorization header names the integration user or a live token."""
        scheme, _, value = (header or "").partition(" ")
        if scheme == "Basic":
            try:
                name, _, secret = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return False
            return (name, secret) == (self.user, self.password)
        return scheme == "Bearer" and self.tokens.get(value, 0) > time.monotonic()

    def fault_for(self, method: str) -> Fault | None:
        """The next planned failure for this method, taken off the list."""
        with self._lock:
            for n, fault in enumerate(self.faults):
                if method in fault.methods:
                    return self.faults.pop(n)
        return None


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "detail": ""}, "status": "failure"}


def _parse(query: str) -> tuple[list[list[tuple[str, str, str]]], list[tuple[str, bool]]]:
    """An encoded query as OR-groups joined by AND, and its ORDERBY terms."""
    groups: list[list[tuple[str, str, str]]] = []
    order: list[tuple[str, bool]] = []
    for term in query.split("^") if query else []:
        joined_by_or = term.startswith("OR") and not term.startswith("ORDERBY")
        term = term[2:] if joined_by_or else term
        if term.startswith("ORDERBYDESC"):
            order.append((term[len("ORDERBYDESC") :], True))
        elif term.startswith("ORDERBY"):
            order.append((term[len("ORDERBY") :], False))
        elif term and term != "EQ":
            match = _CONDITION.match(term)
            if match is None:
                raise ValueError(f"unsupported query term {term!r}")
            if joined_by_or and groups:
                groups[-1].append(match.groups())  # type: ignore[arg-type]
            else:
                groups.append([match.groups()])  # type: ignore[list-item]
    return groups, order


def _sortable(value: str) -> tuple[int, float | str]:
    try:
        return 0, float(value)
    except ValueError:
        return 1, value


def _matches(
    standin: StandIn, table: str, record: dict[str, Any], groups: list[list[tuple[str, str, str]]]
) -> bool:
    return all(any(_holds(standin._walk(table, record, f), op, v) for f, op, v in group) for group in groups)


def _holds(actual: str, op: str, expected: str) -> bool:
    if op == "ISEMPTY":
        return actual == ""
    if op == "ISNOTEMPTY":
        return actual != ""
    if op in ("IN", "NOT IN"):
        return (actual in expected.split(",")) == (op == "IN")
    if op == "STARTSWITH":
        return actual.startswith(expected)
    if op == "ENDSWITH":
        return actual.endswith(expected)
    if op in ("LIKE", "NOTLIKE"):
        return (expected.lower() in actual.lower()) == (op == "LIKE")
    left, right = _sortable(actual), _sortable(expected)
    if left[0] != right[0]:
        left, right = (1, actual), (1, expected)
    return {
        "=": left == right,
        "!=": left != right,
        ">": left > right,
        ">=": left >= right,
        "<": left < right,
        "<=": left <= right,
    }[op]


class _Handler(BaseHTTPRequestHandler):
    standin: StandIn
    protocol_version = "HTTP/1.1"
    # The head and the body go out in two writes: with Nagle's algorithm the body would wait for the
    # client's delayed ACK (40 ms on Linux) on every answer of a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests read StandIn.requests instead

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        standin = self.standin
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        late = 0.0
        if split.path == "/oauth_token.do" and method == "POST":
            form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
            status, body = standin.token(form)
            headers: dict[str, str] = {}
        elif not standin.authorized(self.headers.get("Authorization")):
            status, body, headers = 401, _error("User Not Authenticated"), {}
        elif (fault := standin.fault_for(method)) is not None and not fault.late:
            status, body = fault.status, _error("planned failure")
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        else:
            late = fault.late if fault is not None else 0.0
            try:
                payload = json.loads(raw) if raw else None
                status, body, headers = standin.answer(method, split.path, query, payload)
            except ValueError as exc:
                status, body, headers = 400, _error(str(exc)), {}
        standin.requests.append((time.monotonic(), method, split.path, status))
        if late:
            time.sleep(late)
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up waiting: the work is done all the same
