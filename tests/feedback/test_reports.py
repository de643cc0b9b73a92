"""Reports against figures computed by hand from fixture data, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from kbserver.feedback import reports
from kbserver.feedback.flags import FlagStore, Reason
from kbserver.feedback.votes import monday
from kbserver.store import connect, migrate
from kbserver.store.schema import feedback, search_log
from kbserver.users import UserStore


def at(day: int) -> datetime:
    return datetime(2026, 11, day, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = connect(database_url)
    migrate(engine)
    users = UserStore(engine)
    ana = users.add("ana", "operator", "a-long-password").id
    bea = users.add("bea", "operator", "a-long-password").id
    rows = [  # user, doc, commit, ticket, helpful, outcome, day
        (ana, "KB-0001", "c1", "INC0000001", True, "resolved", 2),
        (bea, "KB-0001", "c1", "INC0000002", False, "escalated", 3),
        (ana, "KB-0001", "c2", "INC0000003", True, "resolved", 10),
        (ana, "KB-0002", "c9", "INC0000003", False, None, 10),
        (bea, "KB-0002", "c9", "", True, None, 11),
    ]
    with engine.begin() as conn:
        for user, doc, commit, ticket, helpful, outcome, day in rows:
            conn.execute(
                feedback.insert().values(
                    user_id=user,
                    doc_id=doc,
                    commit=commit,
                    ticket=ticket,
                    helpful=helpful,
                    outcome=outcome,
                    created_at=at(day),
                    updated_at=at(day),
                    week=monday(at(day)),
                )
            )
        for query, results, day, opened, linked in [
            ("vpn lenta", 0, 2, None, False),
            (" VPN Lenta ", 0, 3, None, False),
            ("impresora", 0, 4, None, False),
            ("outlook", 5, 4, None, False),  # results nobody opened
            ("", 0, 5, None, False),
            ("vpn lenta", 0, 20, None, False),
            ("Teams audio", 3, 6, None, False),
            ("teams audio", 3, 7, None, False),
            ("teams audio", 3, 8, "KB-0002", False),  # opened: not a gap
            ("wifi", 2, 8, None, True),  # linked to a ticket: not a gap
        ]:
            conn.execute(
                search_log.insert().values(
                    query=query,
                    filters="{}",
                    results=results,
                    user_id=ana,
                    created_at=at(day),
                    opened_doc_id=opened,
                    linked=linked,
                )
            )
    FlagStore(engine).raise_flag("KB-0001", ana, Reason.OUTDATED, "", None)
    yield engine
    engine.dispose()


CURRENT = {
    "KB-0001": {"title": "Restablecer", "owner": "lucia", "updated": "2026-11-09", "changed": "c2"},
    "KB-0002": {"title": "Bloqueo", "owner": "lucia", "updated": "2026-10-01", "changed": "c9"},
}


def test_per_document(engine: sa.Engine) -> None:
    rows = reports.per_document(engine, (None, None), CURRENT.get)
    assert rows == [
        {
            "document_id": "KB-0001",
            "title": "Restablecer",
            "owner": "lucia",
            "last_change": "2026-11-09",
            "uses": 3,
            "votes": 3,
            "helpful_rate": 0.6667,
            "helpful_rate_since_change": 1.0,
            "first_contact_resolution": 0.6667,
            "escalation_rate": 0.3333,
            "open_flags": 1,
        },
        {
            "document_id": "KB-0002",
            "title": "Bloqueo",
            "owner": "lucia",
            "last_change": "2026-10-01",
            "uses": 1,
            "votes": 2,
            "helpful_rate": 0.5,
            "helpful_rate_since_change": 0.5,
            "first_contact_resolution": None,
            "escalation_rate": None,
            "open_flags": 0,
        },
    ]
    first_week = reports.per_document(engine, (at(1), at(9)), CURRENT.get)
    assert first_week[0]["votes"] == 2 and first_week[0]["helpful_rate_since_change"] is None


def test_content_gaps(engine: sa.Engine) -> None:
    gaps = [(g["gap"], g["query"], g["searches"]) for g in reports.content_gaps(engine, (None, None))]
    assert gaps == [
        ("no_results", "vpn lenta", 3),
        ("no_results", "impresora", 1),
        ("not_opened", "teams audio", 2),
        ("not_opened", "outlook", 1),
    ]
    gaps = [(g["gap"], g["query"], g["searches"]) for g in reports.content_gaps(engine, (at(1), at(7)))]
    assert gaps == [
        ("no_results", "vpn lenta", 2),
        ("no_results", "impresora", 1),
        ("not_opened", "outlook", 1),
        ("not_opened", "teams audio", 1),
    ]


def test_usage_by_week(engine: sa.Engine) -> None:
    # Week of 2 Nov: 2 votes, 1 helpful; week of 9 Nov: 3 votes, 2 helpful (days 10, 10, 11).
    assert reports.usage_by_week(engine, (None, None)) == [
        {"week": "2026-11-02", "votes": 2, "helpful_rate": 0.5},
        {"week": "2026-11-09", "votes": 3, "helpful_rate": 0.6667},
    ]


def test_desk_kpis_per_week(engine: sa.Engine) -> None:
    assert reports.desk_kpis(engine, (None, None)) == [
        {
            "week": "2026-11-02",
            "tickets": 2,
            "link_rate": 0.5,
            "first_contact_resolution": 0.5,
            "escalation_rate": 0.5,
        },
        {
            "week": "2026-11-09",
            "tickets": 1,
            "link_rate": 1.0,
            "first_contact_resolution": 1.0,
            "escalation_rate": 0.0,
        },
    ]
