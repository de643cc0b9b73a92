"""An empty schema on a real PostgreSQL, dropped afterwards: the state store of one test or one benchmark."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from kbserver.store import connect


@contextmanager
def postgres_schema(base: str, prefix: str = "t") -> Iterator[str]:
    """A store URL on a new schema of the server at base (its search_path set to it), dropped on exit."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = connect(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
