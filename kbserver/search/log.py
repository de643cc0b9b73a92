"""The search log: what was searched, with which filters and how many results, by which user id."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import sqlalchemy as sa

from kbserver.errors import NotFound
from kbserver.store.database import writing
from kbserver.store.schema import search_log

log = logging.getLogger(__name__)


class SearchLog:
    """Appends searches to the state store, for the content-gap report (no personal data but the user id)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        # One statement with its values as parameters: SQLAlchemy compiles it once, not on every search.
        self._insert_line = search_log.insert().returning(search_log.c.id)

    def record(
        self, query: str, filters: dict[str, list[str]], results: int, user_id: int | None
    ) -> int | None:
        """Log one search; returns its id, which the client quotes when a result is opened or linked.

        None when the store cannot take the line (a full disk, a store that does not answer): the search
        is answered all the same, as operators need it more than the gap report needs the line."""
        try:
            return self._insert(query, filters, results, user_id)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            log.warning("search log: a search was answered but not logged: %s", exc)
            return None

    def _insert(self, query: str, filters: dict[str, list[str]], results: int, user_id: int | None) -> int:
        kept = {k: v for k, v in filters.items() if v}
        line = {
            "query": query[:1000],
            "filters": json.dumps(kept, ensure_ascii=False, sort_keys=True)[:1000],
            "results": results,
            "user_id": user_id,
            "created_at": datetime.now(UTC),
        }
        with writing(self.engine) as conn:
            return int(conn.execute(self._insert_line, line).scalar_one())

    def opened(self, search_id: int, doc_id: str, user_id: int | None) -> None:
        """Note that a result of the search was opened (only the user who searched can say so)."""
        self._mark(search_id, user_id, {"opened_doc_id": doc_id})

    def linked(self, search_id: int, user_id: int | None) -> None:
        """Note that the search led to feedback on a ticket."""
        self._mark(search_id, user_id, {"linked": True})

    def _mark(self, search_id: int, user_id: int | None, values: dict[str, object]) -> None:
        owner = search_log.c.user_id.is_(None) if user_id is None else search_log.c.user_id == user_id
        with writing(self.engine) as conn:
            done = conn.execute(
                search_log.update().where((search_log.c.id == search_id) & owner).values(**values)
            )
        if not done.rowcount:
            raise NotFound(f"no search {search_id} of yours")
