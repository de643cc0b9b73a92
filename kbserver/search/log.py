"""The search log: what was searched, with which filters and how many results, by which user id."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from kbserver.store.schema import search_log


class SearchLog:
    """Appends searches to the state store, for the content-gap report (no personal data but the user id)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, query: str, filters: dict[str, list[str]], results: int, user_id: int | None) -> None:
        """Log one search."""
        kept = {k: v for k, v in filters.items() if v}
        with self.engine.begin() as conn:
            conn.execute(
                search_log.insert().values(
                    query=query[:1000],
                    filters=json.dumps(kept, ensure_ascii=False, sort_keys=True)[:1000],
                    results=results,
                    user_id=user_id,
                    created_at=datetime.now(UTC),
                )
            )
