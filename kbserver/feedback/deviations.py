"""Script deviations: an operator departs from a step, saying why; an L2 lead approves or rejects it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from kbserver.errors import Conflict, NotFound
from kbserver.store.database import writing
from kbserver.store.schema import deviations, users

STATES = ("pending", "approved", "rejected")


class DeviationStore:
    """Deviations from chat-script steps, their review, and how often each step is deviated from."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(
        self, script_id: str, step: str, ticket: str | None, justification: str, user_id: int
    ) -> dict[str, Any]:
        """Record a deviation, pending review."""
        with writing(self.engine) as conn:
            new_id = conn.execute(
                deviations.insert()
                .returning(deviations.c.id)
                .values(
                    script_id=script_id,
                    step=step,
                    ticket=ticket,
                    justification=justification,
                    user_id=user_id,
                    state="pending",
                    created_at=datetime.now(UTC),
                )
            ).scalar_one()
        return self.get(int(new_id))

    def get(self, deviation_id: int) -> dict[str, Any]:
        """One deviation."""
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT.where(deviations.c.id == deviation_id)).first()
        if row is None:
            raise NotFound(f"no deviation {deviation_id}")
        return _row(row)

    def find(self, state: str | None = None, user_id: int | None = None) -> list[dict[str, Any]]:
        """Deviations, oldest first, optionally by state and by the operator who recorded them."""
        query = _SELECT.order_by(deviations.c.id)
        if state:
            query = query.where(deviations.c.state == state)
        if user_id is not None:
            query = query.where(deviations.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def review(self, deviation_id: int, approve: bool, lead_id: int, comment: str) -> dict[str, Any]:
        """A lead approves or rejects a pending deviation, with a comment."""
        if self.get(deviation_id)["state"] != "pending":
            raise Conflict(f"deviation {deviation_id} was already reviewed")
        with writing(self.engine) as conn:
            conn.execute(
                deviations.update()
                .where((deviations.c.id == deviation_id) & (deviations.c.state == "pending"))
                .values(
                    state="approved" if approve else "rejected",
                    reviewer_id=lead_id,
                    review_comment=comment,
                    reviewed_at=datetime.now(UTC),
                )
            )
        return self.get(deviation_id)

    def report(self, since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
        """Per script and step: how often it was deviated from, and how many were approved or rejected."""
        d = deviations.c
        query = (
            sa.select(
                d.script_id,
                d.step,
                sa.func.count().label("total"),
                sa.func.sum(sa.case((d.state == "approved", 1), else_=0)).label("approved"),
                sa.func.sum(sa.case((d.state == "rejected", 1), else_=0)).label("rejected"),
                sa.func.sum(sa.case((d.state == "pending", 1), else_=0)).label("pending"),
            )
            .group_by(d.script_id, d.step)
            .order_by(sa.func.count().desc(), d.script_id, d.step)
        )
        if since:
            query = query.where(d.created_at >= since)
        if until:
            query = query.where(d.created_at < until)
        with self.engine.connect() as conn:
            return [
                {
                    "script_id": r.script_id,
                    "step": r.step,
                    "total": int(r.total),
                    "approved": int(r.approved),
                    "rejected": int(r.rejected),
                    "pending": int(r.pending),
                }
                for r in conn.execute(query)
            ]


_SELECT = sa.select(deviations, users.c.name.label("user")).join(users, users.c.id == deviations.c.user_id)


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "script_id": row.script_id,
        "step": row.step,
        "ticket": row.ticket,
        "justification": row.justification,
        "user": row.user,
        "state": row.state,
        "review_comment": row.review_comment,
        "created_at": row.created_at.isoformat(),
        "reviewed_at": row.reviewed_at.isoformat() if row.reviewed_at else None,
    }
