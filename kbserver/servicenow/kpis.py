"""The desk's KPIs over every resolved incident pulled from ServiceNow, per week, per article, per category.

An incident counts in the week it was resolved. Its articles are those attached to it in ServiceNow
(`m2m_kb_task`) and those an operator linked to it here (feedback with its number).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from kbserver.store.schema import feedback, servicenow_attachments, servicenow_incidents

Range = tuple[datetime | None, datetime | None]
Grouping = Literal["week", "article", "category"]
FcrRule = Literal["desk", "no_reassignment"]


@dataclass
class _Figures:
    closed: int = 0
    linked: int = 0
    first_contact: int = 0
    escalated: int = 0
    hours: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def first_contact(left_desk: bool, reassignments: int, rule: FcrRule) -> bool:
    """Whether a resolved incident was resolved at first contact under KB_SERVICENOW_FCR_RULE: `desk`, it
    never left the desk's groups; `no_reassignment`, it was also never reassigned within them."""
    return not left_desk and (rule == "desk" or reassignments == 0)


def ticket_kpis(
    engine: sa.Engine,
    span: Range,
    rule: FcrRule,
    by: Grouping = "week",
    category_of: Callable[[str], str | None] = lambda _article: None,
) -> list[dict[str, Any]]:
    """Tickets closed, link rate, first-contact resolution, escalation rate, time to resolve (median hours)
    and satisfaction (mean survey result, where surveys exist), grouped by week, article or category."""
    i = servicenow_incidents.c
    where: sa.ColumnElement[bool] = i.resolved_at.isnot(None)
    if span[0]:
        where &= i.resolved_at >= span[0]
    if span[1]:
        where &= i.resolved_at < span[1]
    resolved = sa.select(
        i.sys_id,
        i.number,
        i.week,
        i.opened_at,
        i.resolved_at,
        i.reassignment_count,
        i.left_desk,
        i.satisfaction,
    ).where(where)
    found = resolved.subquery()
    attached = sa.select(servicenow_attachments.c.task_sys_id, servicenow_attachments.c.article).join(
        found, found.c.sys_id == servicenow_attachments.c.task_sys_id
    )
    linked_here = (
        sa.select(found.c.sys_id, feedback.c.doc_id)
        .join(feedback, feedback.c.ticket == found.c.number)
        .distinct()
    )
    articles: dict[str, set[str]] = defaultdict(set)
    with engine.connect() as conn:
        incidents = conn.execute(resolved).all()
        for task, article in [*conn.execute(attached), *conn.execute(linked_here)]:
            articles[task].add(article)
    groups: dict[str, _Figures] = defaultdict(_Figures)
    for row in incidents:
        used = articles.get(row.sys_id, set())
        if by == "week":
            keys = {row.week}
        elif by == "article":
            keys = used
        else:
            keys = {category_of(a) or "(other)" for a in used}
        for key in keys:
            figures = groups[key]
            figures.closed += 1
            figures.linked += bool(used)
            figures.first_contact += first_contact(bool(row.left_desk), row.reassignment_count, rule)
            figures.escalated += bool(row.left_desk)
            if row.opened_at is not None:
                figures.hours.append((row.resolved_at - row.opened_at).total_seconds() / 3600)
            if row.satisfaction is not None:
                figures.scores.append(float(row.satisfaction))
    total = len(incidents)
    return [_row(by, key, groups[key], total) for key in sorted(groups)]


def _row(by: Grouping, key: str, f: _Figures, total: int) -> dict[str, Any]:
    return {
        by: key,
        "tickets_closed": f.closed,
        # per article or category: the share of all resolved incidents that used it
        "link_rate": _rate(f.linked, f.closed) if by == "week" else _rate(f.closed, total),
        "first_contact_resolution": _rate(f.first_contact, f.closed),
        "escalation_rate": _rate(f.escalated, f.closed),
        "median_hours_to_resolve": round(statistics.median(f.hours), 2) if f.hours else None,
        "satisfaction": round(statistics.fmean(f.scores), 2) if f.scores else None,
        "surveys": len(f.scores),
    }
