"""Change requests, reviews and the append-only audit log in the state store."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from approval.model import ChangeRequest, Review, State, Verdict
from kbserver.errors import NotFound
from kbserver.store.schema import change_events, change_requests, reviews, users


def _now() -> datetime:
    return datetime.now(UTC)


def _change(row: Any) -> ChangeRequest:
    return ChangeRequest(
        row.id,
        row.title,
        row.branch,
        row.author,
        State(row.state),
        row.base_commit,
        row.head_commit,
        row.merged_commit,
        row.created_at,
        row.updated_at,
    )


# The next change-request number, computed inside the insert itself so that the insert is the allocation.
_NEXT_NUMBER = sa.select(sa.func.coalesce(sa.func.max(change_requests.c.id), 0) + 1).scalar_subquery()
_NUMBER_LOCK = 4242002  # PostgreSQL advisory lock of change-request creation (4242001 is the migrator's)
_MERGE_LOCK = 4242003  # PostgreSQL advisory lock of merges, across replicas

_SELECT = sa.select(change_requests, users.c.name.label("author")).join(
    users, users.c.id == change_requests.c.author_id
)


class ChangeRecords:
    """The approval tables; every state change writes its audit event in the same transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def insert(
        self,
        title: str,
        slug: str,
        author_id: int,
        commit: str,
        make_branch: Callable[[str], None],
        drop_branch: Callable[[str], None],
    ) -> ChangeRequest:
        """Record a new change request in draft, with its creation event, under a number allocated atomically.

        make_branch(branch) creates the git branch inside the transaction, so that a branch exists only for a
        number that was recorded: if it fails nothing is recorded, and if the record then fails the branch is
        dropped again. Numbers are never reused once recorded.
        """
        pending = f"pending/{secrets.token_hex(12)}"  # unique until the number is known
        now = _now()
        made = ""
        try:
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # One creator at a time; on SQLite the insert below takes the write lock first thing.
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_NUMBER_LOCK)))
                conn.execute(
                    change_requests.insert().values(
                        id=_NEXT_NUMBER,
                        title=title,
                        branch=pending,
                        author_id=author_id,
                        state=State.DRAFT.value,
                        base_commit=commit,
                        head_commit=commit,
                        created_at=now,
                        updated_at=now,
                    )
                )
                number: int = conn.execute(
                    sa.select(change_requests.c.id).where(change_requests.c.branch == pending)
                ).scalar_one()
                branch = f"change/{number}-{slug}"
                conn.execute(
                    change_requests.update().where(change_requests.c.id == number).values(branch=branch)
                )
                make_branch(branch)
                made = branch
                self._event(conn, number, author_id, "create", None, State.DRAFT, commit, title)
        except BaseException:
            if made:
                drop_branch(made)
            raise
        return self.get(number)

    @contextmanager
    def creation_lock(self) -> Iterator[None]:
        """Hold off change-request creation (in every process) while the branches are compared with the
        records: a branch made inside a creation that has not committed yet would otherwise look orphaned."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_NUMBER_LOCK)))
            else:
                # A write statement, even one that matches nothing, takes SQLite's write lock until commit.
                conn.execute(change_requests.update().where(sa.false()).values(state=change_requests.c.state))
            yield

    @contextmanager
    def merge_lock(self) -> Iterator[None]:
        """One merge at a time across every replica sharing a PostgreSQL store (a no-op on SQLite, whose one
        node the caller's file lock covers)."""
        if self.engine.dialect.name != "postgresql":
            yield
            return
        with self.engine.connect() as conn:
            conn.execute(sa.select(sa.func.pg_advisory_lock(_MERGE_LOCK)))
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(_MERGE_LOCK)))
                conn.commit()

    def person(self, name: str) -> tuple[str, str]:
        """A user's display name and e-mail as they are now."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.display_name, users.c.email).where(users.c.name == name)
            ).first()
        if row is None:
            raise NotFound(f"no user {name!r}")
        return str(row.display_name), str(row.email)

    def get(self, number: int) -> ChangeRequest:
        """The change request CR-<number>."""
        with self.engine.connect() as conn:
            row = conn.execute(_SELECT.where(change_requests.c.id == number)).first()
        if row is None:
            raise NotFound(f"no change request CR-{number}")
        return _change(row)

    def find(self, state: str | None = None, author: str | None = None) -> list[ChangeRequest]:
        """Change requests, newest first, optionally by state and author."""
        query = _SELECT.order_by(change_requests.c.id.desc())
        if state:
            query = query.where(change_requests.c.state == state)
        if author:
            query = query.where(users.c.name == author)
        with self.engine.connect() as conn:
            return [_change(r) for r in conn.execute(query)]

    def transition(
        self,
        change: ChangeRequest,
        user_id: int | None,
        action: str,
        to_state: State | None = None,
        head: str | None = None,
        detail: str = "",
        merged: str | None = None,
    ) -> ChangeRequest:
        """Move a change request (state, head) and log the event, atomically."""
        values: dict[str, Any] = {"updated_at": _now()}
        if to_state is not None:
            values["state"] = to_state.value
        if head is not None:
            values["head_commit"] = head
        if merged is not None:
            values["merged_commit"] = merged
        with self.engine.begin() as conn:
            conn.execute(
                change_requests.update().where(change_requests.c.id == change.number).values(**values)
            )
            self._event(
                conn,
                change.number,
                user_id,
                action,
                change.state,
                to_state,
                head or change.head_commit,
                detail,
            )
        return self.get(change.number)

    def committers(self, number: int) -> set[str]:
        """The users the audit log shows writing to CR-<number> (commits, and merges of main into it)."""
        query = (
            sa.select(users.c.name)
            .join(change_events, change_events.c.user_id == users.c.id)
            .where(change_events.c.change_id == number, change_events.c.action.in_(("commit", "update")))
            .distinct()
        )
        with self.engine.connect() as conn:
            return set(conn.scalars(query))

    def add_review(self, change: ChangeRequest, user_id: int, role: str, verdict: Verdict, body: str) -> None:
        """Record a review of the change request's current head."""
        with self.engine.begin() as conn:
            conn.execute(
                reviews.insert().values(
                    change_id=change.number,
                    user_id=user_id,
                    role=role,
                    verdict=verdict.value,
                    head_commit=change.head_commit,
                    body=body,
                    created_at=_now(),
                )
            )

    def reviews(self, number: int) -> list[Review]:
        """Every review of CR-<number>, oldest first."""
        query = (
            sa.select(
                reviews,
                users.c.name,
                users.c.display_name,
                users.c.email,
                users.c.role.label("current_role"),
                users.c.disabled,
            )
            .join(users, users.c.id == reviews.c.user_id)
            .where(reviews.c.change_id == number)
            .order_by(reviews.c.id)
        )
        with self.engine.connect() as conn:
            return [
                Review(
                    r.name,
                    r.display_name,
                    r.email,
                    r.role,
                    Verdict(r.verdict),
                    r.head_commit,
                    r.body,
                    r.created_at,
                    r.current_role,
                    bool(r.disabled),
                )
                for r in conn.execute(query)
            ]

    def events(self, number: int) -> list[dict[str, Any]]:
        """The audit log of CR-<number>: who, when, from which state to which, at which head."""
        query = (
            sa.select(change_events, users.c.name.label("user"))
            .outerjoin(users, users.c.id == change_events.c.user_id)
            .where(change_events.c.change_id == number)
            .order_by(change_events.c.id)
        )
        with self.engine.connect() as conn:
            return [
                {
                    "user": r.user,
                    "action": r.action,
                    "from_state": r.from_state,
                    "to_state": r.to_state,
                    "head_commit": r.head_commit,
                    "detail": r.detail,
                    "at": r.created_at.isoformat(),
                }
                for r in conn.execute(query)
            ]

    @staticmethod
    def _event(
        conn: sa.Connection,
        number: int,
        user_id: int | None,
        action: str,
        from_state: State | None,
        to_state: State | None,
        head: str,
        detail: str,
    ) -> None:
        conn.execute(
            change_events.insert().values(
                change_id=number,
                user_id=user_id,
                action=action,
                from_state=from_state.value if from_state else None,
                to_state=to_state.value if to_state else None,
                head_commit=head,
                detail=detail,
                created_at=_now(),
            )
        )
