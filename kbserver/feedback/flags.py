"""Flags ("flag it or fix it"): an operator says a page is wrong; a lead links a fix or dismisses the flag."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from kbserver.errors import Conflict, NotFound
from kbserver.store.database import writing
from kbserver.store.schema import flags, users


class Reason(StrEnum):
    INCORRECT = "incorrect"
    OUTDATED = "outdated"
    UNCLEAR = "unclear"
    MISSING_INFORMATION = "missing_information"


class FlagState(StrEnum):
    OPEN = "open"
    LINKED = "linked"  # a change request will fix it
    CLOSED = "closed"  # that change request merged
    DISMISSED = "dismissed"


class FlagStore:
    """Flags on documents and what became of them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def raise_flag(
        self, doc_id: str, user_id: int, reason: Reason, comment: str, ticket: str | None
    ) -> dict[str, Any]:
        """Flag a document."""
        with writing(self.engine) as conn:
            flag_id = conn.execute(
                flags.insert()
                .returning(flags.c.id)
                .values(
                    doc_id=doc_id,
                    user_id=user_id,
                    reason=reason.value,
                    comment=comment,
                    ticket=ticket,
                    state=FlagState.OPEN.value,
                    created_at=datetime.now(UTC),
                )
            ).scalar_one()
        return self.get(int(flag_id))

    def get(self, flag_id: int) -> dict[str, Any]:
        """One flag."""
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT.where(flags.c.id == flag_id)).first()
        if row is None:
            raise NotFound(f"no flag {flag_id}")
        return _row(row)

    def find(
        self, states: list[str], reason: str | None = None, user_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Flags in any of states, optionally by reason and by the user who raised them; oldest first."""
        query = _SELECT.where(flags.c.state.in_(states)).order_by(flags.c.id)
        if reason:
            query = query.where(flags.c.reason == reason)
        if user_id is not None:
            query = query.where(flags.c.user_id == user_id)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def link(self, flag_id: int, change_id: int, lead_id: int) -> dict[str, Any]:
        """Resolve a flag by a change request; it closes by itself when that change request merges."""
        return self._move(
            flag_id, {FlagState.OPEN}, FlagState.LINKED, change_id=change_id, resolved_by=lead_id
        )

    def dismiss(self, flag_id: int, lead_id: int, reason: str) -> dict[str, Any]:
        """Close a flag without a change, saying why."""
        return self._move(
            flag_id,
            {FlagState.OPEN, FlagState.LINKED},
            FlagState.DISMISSED,
            resolution=reason,
            resolved_by=lead_id,
            closed_at=datetime.now(UTC),
        )

    def close_for_change(self, change_id: int, commit: str) -> int:
        """Close the flags linked to a change request that merged; returns how many."""
        with writing(self.engine) as conn:
            done = conn.execute(
                flags.update()
                .where((flags.c.change_id == change_id) & (flags.c.state == FlagState.LINKED.value))
                .values(
                    state=FlagState.CLOSED.value,
                    resolution=f"fixed by CR-{change_id} ({commit[:12]})",
                    closed_at=datetime.now(UTC),
                )
            )
        return int(done.rowcount or 0)

    def _move(self, flag_id: int, allowed: set[FlagState], to: FlagState, **values: Any) -> dict[str, Any]:
        flag = self.get(flag_id)
        if FlagState(flag["state"]) not in allowed:
            raise Conflict(f"flag {flag_id} is {flag['state']}")
        with writing(self.engine) as conn:
            conn.execute(flags.update().where(flags.c.id == flag_id).values(state=to.value, **values))
        return self.get(flag_id)


_SELECT = sa.select(flags, users.c.name.label("user")).join(users, users.c.id == flags.c.user_id)


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "document_id": row.doc_id,
        "user": row.user,
        "reason": row.reason,
        "comment": row.comment,
        "ticket": row.ticket,
        "state": row.state,
        "change": f"CR-{row.change_id}" if row.change_id else None,
        "resolution": row.resolution,
        "created_at": row.created_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }
