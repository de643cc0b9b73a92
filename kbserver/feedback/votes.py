"""Feedback on a document: helpful or not, the ticket it served and its outcome, keyed to the commit read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kbserver.errors import NotFound
from kbserver.store.database import writing
from kbserver.store.schema import deviations, feedback, flags, users


class Outcome(StrEnum):
    RESOLVED = "resolved"  # resolved at first contact
    ESCALATED = "escalated"
    PENDING = "pending"


@dataclass(frozen=True)
class Vote:
    user_id: int
    doc_id: str
    commit: str
    ticket: str | None
    helpful: bool
    outcome: Outcome | None
    comment: str | None


def monday(moment: datetime) -> str:
    """The Monday of moment's week (UTC), as YYYY-MM-DD: how reports name weeks."""
    day = moment.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


class FeedbackStore:
    """Feedback rows: one per user, document and ticket; submitting again updates it."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(
        self, vote: Vote, also: Callable[[sa.Connection, Vote, bool], None] | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Insert or update the vote in one statement, and run `also(conn, vote, new)` in the same transaction
        (the ticket link's outbox entry: both are kept, or neither); returns (the stored record, whether it
        was new)."""
        now = datetime.now(UTC)
        params = {
            "v_user_id": vote.user_id,
            "v_doc_id": vote.doc_id,
            "v_ticket": vote.ticket or "",
            "v_commit": vote.commit,
            "v_helpful": vote.helpful,
            "v_outcome": vote.outcome.value if vote.outcome else None,
            "v_comment": vote.comment,
            "v_now": now,
            "v_week": monday(now),  # reports group by the week the vote was first given
        }
        with writing(self.engine) as conn:
            row = conn.execute(_upsert(self.engine.dialect.name), params).one()
            new = _same_instant(row.created_at, now)
            if also is not None:
                also(conn, vote, new)
        return _row(row), new

    def get(self, feedback_id: int) -> dict[str, Any]:
        """One feedback record with its user's name."""
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT.where(feedback.c.id == feedback_id)).first()
        if row is None:
            raise NotFound(f"no feedback {feedback_id}")
        return _row(row)

    def for_ticket(self, ticket: str) -> list[dict[str, Any]]:
        """The documents used on a ticket."""
        with self.engine.connect() as conn:
            return [
                _row(r)
                for r in conn.execute(_SELECT.where(feedback.c.ticket == ticket).order_by(feedback.c.id))
            ]

    def for_document(self, doc_id: str, user_id: int | None = None) -> list[dict[str, Any]]:
        """The feedback on a document (optionally only one user's), newest first."""
        query = _SELECT.where(feedback.c.doc_id == doc_id).order_by(feedback.c.id.desc())
        if user_id is not None:
            query = query.where(feedback.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]


_SELECT = sa.select(feedback, users.c.name.label("user")).join(users, users.c.id == feedback.c.user_id)


@cache
def _upsert(dialect_name: str) -> sa.Executable:
    """The vote's insert-or-update for a dialect, built once with bound parameters: building a statement per
    request cost SQLAlchemy more time than running it."""
    insert = (postgresql if dialect_name == "postgresql" else sqlite).insert(feedback)
    updated = ("commit", "helpful", "outcome", "comment", "updated_at")
    statement: sa.Executable = (
        insert.values(
            user_id=sa.bindparam("v_user_id"),
            doc_id=sa.bindparam("v_doc_id"),
            ticket=sa.bindparam("v_ticket"),
            commit=sa.bindparam("v_commit"),
            helpful=sa.bindparam("v_helpful"),
            outcome=sa.bindparam("v_outcome"),
            comment=sa.bindparam("v_comment"),
            created_at=sa.bindparam("v_now"),
            updated_at=sa.bindparam("v_now"),
            week=sa.bindparam("v_week"),
        )
        .on_conflict_do_update(
            index_elements=["user_id", "doc_id", "ticket"], set_={c: insert.excluded[c] for c in updated}
        )
        .returning(
            *feedback.c,
            # SQLAlchemy leaves the columns of a RETURNING subquery unqualified, so it is spelled out.
            sa.literal_column("(SELECT users.name FROM users WHERE users.id = feedback.user_id)").label(
                "user"
            ),
        )
    )
    return statement


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "user": row.user,
        "document_id": row.doc_id,
        "commit": row.commit,
        "ticket": row.ticket or None,
        "helpful": bool(row.helpful),
        "outcome": row.outcome,
        "comment": row.comment,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def _same_instant(stored: datetime, now: datetime) -> bool:
    return stored == now  # both in UTC: the store's Timestamp columns give the zone back on every database


def purge_comments(engine: sa.Engine, days: int) -> int:
    """Delete the comments of feedback, flags and deviations older than days; returns the rows cleared."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    cleared = 0
    with engine.begin() as conn:
        for table, column in ((feedback, "comment"), (flags, "comment"), (deviations, "justification")):
            col = table.c[column]
            done = conn.execute(
                table.update().where((table.c.created_at < cutoff) & col.isnot(None)).values({column: None})
            )
            cleared += int(done.rowcount or 0)
    return cleared
