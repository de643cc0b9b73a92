"""The incremental pull of the desk's incidents, their Attached Knowledge and survey results, by watermark.

Each stream (incidents, attachments, survey results) is read from its last `sys_updated_on` watermark on, page
by page, and written by key (sys_id): pulling a record twice overwrites it, so nothing is counted twice. The
watermark is read with `>=`, since several records may share the last second.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kbserver.feedback.votes import monday
from kbserver.servicenow.client import ServiceNowClient, ServiceNowError
from kbserver.store.database import writing
from kbserver.store.schema import servicenow_attachments, servicenow_incidents, servicenow_state

log = logging.getLogger(__name__)
INCIDENT_FIELDS = (
    "sys_id",
    "number",
    "state",
    "short_description",
    "assignment_group.name",
    "opened_at",
    "resolved_at",
    "reassignment_count",
    "close_code",
    "sys_updated_on",
)
ATTACHMENT_FIELDS = (
    "sys_id",
    "task",
    "kb_knowledge.number",
    "kb_knowledge.short_description",
    "sys_updated_on",
)
SURVEY_FIELDS = ("instance.trigger_id", "actual_value", "sys_updated_on")
RESOLVED_STATES = ("6", "7")  # Resolved, Closed
STUB_TITLE = re.compile(r"^((?:KB|SCR|PROC)-\d{2,}): ")  # the stubs this service keeps (delivery.py)
BATCH = 500
CHUNK = 100  # sys_ids named in one query (an IN list), so that its URL stays short


@dataclass(frozen=True)
class PullResult:
    incidents: int
    attachments: int
    surveys: int

    def as_json(self) -> dict[str, int]:
        """The counts, for `kb servicenow pull --json`."""
        return {"incidents": self.incidents, "attachments": self.attachments, "surveys": self.surveys}


def parse_time(value: str | None) -> datetime | None:
    """A Table API date-time ("2026-11-02 10:00:00", UTC) as an aware datetime; None when empty."""
    if not value:
        return None
    return datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


class IncidentPull:
    """Reads what changed in the instance since the last pull into the state store."""

    def __init__(self, client: ServiceNowClient, engine: sa.Engine, desk_groups: tuple[str, ...]) -> None:
        self.client, self.engine, self.desk_groups = client, engine, desk_groups

    def pull(self) -> PullResult:
        """Pull every stream from its watermark; returns how many records each brought."""
        if not self.desk_groups:
            raise ServiceNowError("KB_SERVICENOW_DESK_GROUPS names no assignment group: nothing to pull")
        groups = ",".join(self.desk_groups)
        incidents = self._stream(
            "incident", f"assignment_group.nameIN{groups}", INCIDENT_FIELDS, self._store_incidents
        )
        escalated = self._left_the_desk()
        incidents += len(escalated)
        # Only the desk's incidents' Attached Knowledge: the rows of tasks now in the desk's groups (by their
        # watermark), and those of the incidents just seen outside them, which the first query cannot name.
        desk_tasks = f"task.assignment_group.nameIN{groups}^task.sys_class_name=incident"
        attachments = self._stream("m2m_kb_task", desk_tasks, ATTACHMENT_FIELDS, self._store_attachments)
        attachments += self._attachments_of(escalated)
        try:
            surveys = self._stream(
                "asmt_metric_result", "instance.trigger_idISNOTEMPTY", SURVEY_FIELDS, self._store_surveys
            )
        except ServiceNowError as exc:  # an instance without surveys, or no read on them: no satisfaction
            log.info("ServiceNow: no survey results (%s)", exc.message)
            surveys = 0
        return PullResult(incidents, attachments, surveys)

    def _stream(self, table: str, query: str, fields: tuple[str, ...], store: Any) -> int:
        key = f"watermark:{table}"
        mark = self._state(key)
        terms = [f"sys_updated_on>={mark}" if mark else "", query, "ORDERBYsys_updated_on"]
        records = self.client.records(table, "^".join(t for t in terms if t), fields)
        count, newest = 0, mark
        for page in _batches(records, BATCH):
            with writing(self.engine) as conn:
                store(conn, page)
            count += len(page)
            newest = max([newest or "", *(r.get("sys_updated_on", "") for r in page)])
        if newest and newest != mark:
            self._set_state(key, newest)
        return count

    def _left_the_desk(self) -> list[str]:
        """Incidents still open here that changed while assigned elsewhere: the desk escalated them.
        Returns their sys_ids."""
        i = servicenow_incidents.c
        with self.engine.connect() as conn:
            open_ids = list(conn.scalars(sa.select(i.sys_id).where(i.resolved_at.is_(None))))
        escalated: list[str] = []
        for chunk in _batches(iter(open_ids), CHUNK):
            query = f"sys_idIN{','.join(chunk)}^assignment_group.nameNOT IN{','.join(self.desk_groups)}"
            found = list(self.client.records("incident", query, INCIDENT_FIELDS))
            if found:
                with writing(self.engine) as conn:
                    self._store_incidents(conn, found)
            escalated += [str(r["sys_id"]) for r in found]
        return escalated

    def _attachments_of(self, tasks: list[str]) -> int:
        """The Attached Knowledge of these tasks, whatever group holds them now."""
        count = 0
        for chunk in _batches(iter(tasks), CHUNK):
            found = list(self.client.records("m2m_kb_task", f"taskIN{','.join(chunk)}", ATTACHMENT_FIELDS))
            if found:
                with writing(self.engine) as conn:
                    self._store_attachments(conn, found)
            count += len(found)
        return count

    def _store_incidents(self, conn: sa.Connection, records: list[dict[str, Any]]) -> None:
        rows = []
        for r in records:
            group = str(r.get("assignment_group.name") or "")
            resolved = parse_time(r.get("resolved_at")) if r.get("state") in RESOLVED_STATES else None
            rows.append(
                {
                    "sys_id": r["sys_id"],
                    "number": str(r.get("number") or ""),
                    "state": str(r.get("state") or ""),
                    "short_description": str(r.get("short_description") or ""),
                    "assignment_group": group,
                    "opened_at": parse_time(r.get("opened_at")),
                    "resolved_at": resolved,
                    "week": monday(resolved) if resolved else None,
                    "reassignment_count": int(r.get("reassignment_count") or 0),
                    "close_code": str(r.get("close_code") or "")[:80],
                    "left_desk": group not in self.desk_groups,
                    "updated_on": parse_time(r.get("sys_updated_on")) or datetime.now(UTC),
                }
            )
        conn.execute(_upsert_incidents(conn.dialect.name), rows)

    def _store_attachments(self, conn: sa.Connection, records: list[dict[str, Any]]) -> None:
        rows = []
        for r in records:
            ours = STUB_TITLE.match(str(r.get("kb_knowledge.short_description") or ""))
            article = ours.group(1) if ours else str(r.get("kb_knowledge.number") or "")
            if r.get("task") and article:
                rows.append({"sys_id": r["sys_id"], "task_sys_id": r["task"], "article": article[:64]})
        ids = [r["sys_id"] for r in records]
        conn.execute(servicenow_attachments.delete().where(servicenow_attachments.c.sys_id.in_(ids)))
        if rows:
            conn.execute(servicenow_attachments.insert(), rows)

    def _store_surveys(self, conn: sa.Connection, records: list[dict[str, Any]]) -> None:
        i = servicenow_incidents.c
        for r in records:
            try:
                value = float(r.get("actual_value") or "")
            except ValueError:
                continue
            conn.execute(
                servicenow_incidents.update()
                .where(i.sys_id == r["instance.trigger_id"])
                .values(satisfaction=value)
            )

    def _state(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            found = conn.scalar(sa.select(servicenow_state.c.value).where(servicenow_state.c.key == key))
        return str(found) if found is not None else None

    def _set_state(self, key: str, value: str) -> None:
        with writing(self.engine) as conn:
            conn.execute(servicenow_state.delete().where(servicenow_state.c.key == key))
            conn.execute(servicenow_state.insert().values(key=key, value=value))


@cache
def _upsert_incidents(dialect_name: str) -> sa.Executable:
    insert = (postgresql if dialect_name == "postgresql" else sqlite).insert(servicenow_incidents)
    kept = {c.name: insert.excluded[c.name] for c in servicenow_incidents.c if c.name not in ("sys_id",)}
    # Once seen outside the desk's groups, an incident stays escalated even if it comes back; the survey
    # result arrives through its own stream and is kept.
    kept["left_desk"] = sa.or_(servicenow_incidents.c.left_desk, insert.excluded.left_desk)
    kept["satisfaction"] = servicenow_incidents.c.satisfaction
    statement: sa.Executable = insert.on_conflict_do_update(index_elements=["sys_id"], set_=kept)
    return statement


def _batches(items: Iterator[Any] | Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
