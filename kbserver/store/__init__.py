"""The state store: SQLAlchemy Core over SQLite (WAL) or PostgreSQL."""

from kbserver.store.database import connect, migrate

__all__ = ["connect", "migrate"]
