"""A `kb_knowledge` export as ServiceNow's list export writes it: XML (`<xml><kb_knowledge>…`, or an unload's
`<unload>`) or JSON (`{"records": […]}` from JSONv2, `{"result": […]}` from the Table API).

A reference field may come as its sys_id, as a display value (an XML `display_value` attribute, a Table API
`{"display_value": …, "value": …}` object) or dot-walked (`author.user_name`): the readable form wins.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from kbserver.errors import InvalidInput

SYS_ID = re.compile(r"^[0-9a-f]{32}$")
RETIRED_STATES = ("retired",)  # workflow_state values kept as `status: retired`


@dataclass(frozen=True)
class KnowledgeRecord:
    """One kb_knowledge row, with the fields the import reads."""

    number: str
    sys_id: str
    title: str
    html: str
    wiki: str
    article_type: str
    category: str
    author: str
    valid_to: str
    workflow_state: str
    language: str
    version: str
    updated: str

    @property
    def retired(self) -> bool:
        """Whether ServiceNow has retired it."""
        return self.workflow_state.lower() in RETIRED_STATES


def read_export(data: bytes) -> list[KnowledgeRecord]:
    """The records of an export file, XML or JSON (told apart by its first character)."""
    text = data.decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith("<"):
        rows = _xml_rows(text)
    elif text.startswith(("{", "[")):
        rows = _json_rows(text)
    else:
        raise InvalidInput('not a ServiceNow export: expected XML (<xml>…) or JSON ({"records": …})')
    return [_record(row) for row in rows]


def _xml_rows(text: str) -> list[dict[str, Any]]:
    # An export never declares a DTD; refusing one keeps entity expansion (and external entities) out.
    # Entities can only be declared before the root element, so only that part is looked at.
    first = re.search(r"<[A-Za-z_]", text)
    if re.search(r"<!DOCTYPE|<!ENTITY", text[: first.start() if first else len(text)], re.IGNORECASE):
        raise InvalidInput("the XML declares a DTD or entities; a ServiceNow export has none")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InvalidInput(f"the XML cannot be read: {exc}") from None
    rows = [root] if root.tag == "kb_knowledge" else root.iter("kb_knowledge")
    found = []
    for element in rows:
        row: dict[str, Any] = {}
        for child in element:
            shown = child.get("display_value")
            value = child.text or ""
            row[child.tag] = {"display_value": shown, "value": value} if shown is not None else value
        found.append(row)
    return found


def _json_rows(text: str) -> list[dict[str, Any]]:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the JSON cannot be read: {exc.msg} (line {exc.lineno})") from None
    rows = body if isinstance(body, list) else (body.get("records") or body.get("result"))
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InvalidInput('the JSON holds no list of records under "records" or "result"')
    return rows


def _readable(row: dict[str, Any], *names: str) -> str:
    """The first readable value among names: a display value before a raw one, never a bare sys_id."""
    for name in names:
        value = row.get(name)
        if isinstance(value, dict):
            value = value.get("display_value") or value.get("value")
        text = "" if value is None else str(value).strip()
        if text and not SYS_ID.match(text):
            return text
    return ""


def _raw(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if isinstance(value, dict):
        value = value.get("value") or value.get("display_value")
    return "" if value is None else str(value).strip()


def _record(row: dict[str, Any]) -> KnowledgeRecord:
    return KnowledgeRecord(
        number=_raw(row, "number"),
        sys_id=_raw(row, "sys_id"),
        title=_readable(row, "short_description"),
        html=_raw(row, "text"),
        wiki=_raw(row, "wiki"),
        article_type=_raw(row, "article_type").lower() or "html",
        category=_readable(row, "kb_category.full_category", "kb_category", "kb_category.label", "category"),
        author=_readable(row, "author.user_name", "author", "author.name"),
        valid_to=_raw(row, "valid_to")[:10],
        workflow_state=_raw(row, "workflow_state"),
        language=_raw(row, "language").lower(),
        version=_readable(row, "version"),
        updated=_raw(row, "sys_updated_on"),
    )
