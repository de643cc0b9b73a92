"""Reports over a date range, computed in the database: per document, content gaps, desk KPIs per week."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from kbserver.store.schema import feedback, flags, search_log

Range = tuple[datetime | None, datetime | None]


def _within(column: sa.ColumnElement[Any], span: Range) -> sa.ColumnElement[bool]:
    since, until = span
    clauses: list[sa.ColumnElement[bool]] = [sa.true()]
    if since:
        clauses.append(column >= since)
    if until:
        clauses.append(column < until)
    return sa.and_(*clauses)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


COUNTS = ("votes", "helpful", "tickets", "resolved", "escalated", "with_outcome")


def _no_figures() -> dict[str, Any]:
    return {**dict.fromkeys(COUNTS, 0), "versions": {}}


def per_document(
    engine: sa.Engine, span: Range, current: Callable[[str], dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """Uses, helpful rate (overall and since the last change), first-contact and escalation rates, open flags.

    current(doc_id) gives the document's owner, title, last change and the commit of that change.
    """
    f = feedback.c
    by_version = (
        sa.select(
            f.doc_id,
            f.commit,
            sa.func.count().label("votes"),
            sa.func.sum(sa.case((f.helpful, 1), else_=0)).label("helpful"),
            sa.func.count(sa.distinct(sa.case((f.ticket != "", f.ticket)))).label("tickets"),
            sa.func.sum(sa.case((f.outcome == "resolved", 1), else_=0)).label("resolved"),
            sa.func.sum(sa.case((f.outcome == "escalated", 1), else_=0)).label("escalated"),
            sa.func.sum(sa.case((f.outcome.isnot(None), 1), else_=0)).label("with_outcome"),
        )
        .where(_within(f.created_at, span))
        .group_by(f.doc_id, f.commit)
    )
    open_flags = (
        sa.select(flags.c.doc_id, sa.func.count().label("open"))
        .where(flags.c.state.in_(["open", "linked"]))
        .group_by(flags.c.doc_id)
    )
    with engine.connect() as conn:
        versions = conn.execute(by_version).all()
        flagged = {r.doc_id: int(r.open) for r in conn.execute(open_flags)}
    docs: dict[str, dict[str, Any]] = {}
    for row in versions:
        doc = docs.setdefault(
            row.doc_id,
            _no_figures(),
        )
        for key in COUNTS:
            doc[key] += int(getattr(row, key))
        doc["versions"][row.commit] = (int(row.votes), int(row.helpful))
    report = []
    for doc_id in sorted(set(docs) | set(flagged)):
        figures = docs.get(
            doc_id,
            _no_figures(),
        )
        meta = current(doc_id) or {}
        latest = figures["versions"].get(meta.get("changed"), (0, 0))
        report.append(
            {
                "document_id": doc_id,
                "title": meta.get("title"),
                "owner": meta.get("owner"),
                "last_change": meta.get("updated"),
                "uses": figures["tickets"],
                "votes": figures["votes"],
                "helpful_rate": _rate(figures["helpful"], figures["votes"]),
                "helpful_rate_since_change": _rate(latest[1], latest[0]),
                "first_contact_resolution": _rate(figures["resolved"], figures["with_outcome"]),
                "escalation_rate": _rate(figures["escalated"], figures["with_outcome"]),
                "open_flags": flagged.get(doc_id, 0),
            }
        )
    return report


def content_gaps(engine: sa.Engine, span: Range, limit: int = 20) -> list[dict[str, Any]]:
    """The most frequent searches (case-folded) that found nothing, then those whose results nobody opened
    or linked to a ticket; each row's `gap` says which."""
    s = search_log.c
    query = sa.func.lower(sa.func.trim(s.query))
    asked = _within(s.created_at, span) & (sa.func.length(sa.func.trim(s.query)) > 0)
    unused = (s.results > 0) & s.opened_doc_id.is_(None) & sa.not_(s.linked)
    rows: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for gap, condition in (("no_results", s.results == 0), ("not_opened", unused)):
            select = (
                sa.select(query.label("query"), sa.func.count().label("searches"), sa.func.max(s.created_at))
                .where(asked & condition)
                .group_by(query)
                .order_by(sa.func.count().desc(), query)
                .limit(limit)
            )
            rows += [
                {"gap": gap, "query": r[0], "searches": int(r[1]), "last": r[2].isoformat()}
                for r in conn.execute(select)
            ]
    return rows


def desk_kpis(engine: sa.Engine, span: Range) -> list[dict[str, Any]]:
    """Per week, over tickets that appear in feedback: link rate (a helpful article linked), first-contact
    resolution and escalation rate (tickets whose feedback names that outcome)."""
    f = feedback.c
    week = f.week  # stored with each row: the Monday of its created_at's week (UTC)
    per_ticket = (
        sa.select(
            week.label("week"),
            f.ticket,
            sa.func.max(sa.case((f.helpful, 1), else_=0)).label("linked"),
            sa.func.max(sa.case((f.outcome == "resolved", 1), else_=0)).label("resolved"),
            sa.func.max(sa.case((f.outcome == "escalated", 1), else_=0)).label("escalated"),
        )
        .where(_within(f.created_at, span) & (f.ticket != ""))
        .group_by(week, f.ticket)
        .subquery()
    )
    t = per_ticket.c
    weekly = (
        sa.select(
            t.week,
            sa.func.count().label("tickets"),
            sa.func.sum(t.linked).label("linked"),
            sa.func.sum(t.resolved).label("resolved"),
            sa.func.sum(t.escalated).label("escalated"),
        )
        .group_by(t.week)
        .order_by(t.week)
    )
    with engine.connect() as conn:
        return [
            {
                "week": r.week,
                "tickets": int(r.tickets),
                "link_rate": _rate(int(r.linked), int(r.tickets)),
                "first_contact_resolution": _rate(int(r.resolved), int(r.tickets)),
                "escalation_rate": _rate(int(r.escalated), int(r.tickets)),
            }
            for r in conn.execute(weekly)
        ]


def usage_by_week(engine: sa.Engine, span: Range) -> list[dict[str, Any]]:
    """Per week: feedback given (how much the KB is used) and the share that said it helped."""
    f = feedback.c
    weekly = (
        sa.select(
            f.week,
            sa.func.count().label("votes"),
            sa.func.sum(sa.case((f.helpful, 1), else_=0)).label("helpful"),
        )
        .where(_within(f.created_at, span))
        .group_by(f.week)
        .order_by(f.week)
    )
    with engine.connect() as conn:
        return [
            {"week": r.week, "votes": int(r.votes), "helpful_rate": _rate(int(r.helpful), int(r.votes))}
            for r in conn.execute(weekly)
        ]
