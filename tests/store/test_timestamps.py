"""Moments come back from the state store with their time zone, on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa

from approval.records import ChangeRecords
from kbserver.feedback.votes import FeedbackStore, Vote
from kbserver.store import connect, migrate
from kbserver.store.schema import search_log
from kbserver.users import UserStore

MADRID_SUMMER = timezone(timedelta(hours=2))


def test_timestamps_are_aware_and_in_utc(database_url: str) -> None:
    engine = connect(database_url)
    migrate(engine)
    user = UserStore(engine).add("ana", "operator", None)
    record, created = FeedbackStore(engine).record(Vote(user.id, "KB-0001", "a" * 40, None, True, None, None))
    assert created
    for text in (record["created_at"], record["updated_at"]):
        assert datetime.fromisoformat(text).utcoffset() == timedelta(0), text
    change = ChangeRecords(engine).insert("Un cambio", "un-cambio", user.id, "b" * 40, print, print)
    assert change.created_at.tzinfo is not None and change.created_at.utcoffset() == timedelta(0)
    engine.dispose()


def test_a_moment_in_another_zone_is_the_same_instant_when_read_back(database_url: str) -> None:
    engine = connect(database_url)
    migrate(engine)
    noon_in_madrid = datetime(2024, 7, 1, 12, 0, tzinfo=MADRID_SUMMER)
    with engine.begin() as conn:
        row = {"query": "vpn", "filters": "", "results": 0, "created_at": noon_in_madrid}
        conn.execute(search_log.insert().values(row))
    with engine.connect() as conn:
        stored = conn.scalar(sa.select(search_log.c.created_at))
        later = conn.scalar(
            sa.select(sa.func.count())
            .select_from(search_log)
            .where(search_log.c.created_at >= datetime(2024, 7, 1, 10, 0, tzinfo=UTC))
        )
    assert stored == noon_in_madrid and stored.tzinfo == UTC
    assert later == 1  # compared as the same instant (10:00 UTC), not as the text "12:00"
    engine.dispose()
