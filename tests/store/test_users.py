"""The state store on SQLite and PostgreSQL: users, secrets stored hashed, migrations keep data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from kbserver.errors import Conflict, InvalidInput, NotAuthenticated
from kbserver.store import connect, migrate
from kbserver.store.database import MIGRATIONS, schema_version
from kbserver.users import Role, UserStore

PASSWORD = "correct horse battery"


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = connect(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: sa.Engine) -> UserStore:
    migrate(engine)
    return UserStore(engine)


def _all_text(engine: sa.Engine) -> str:
    """Every value in every table, as one string, to look for secrets in clear."""
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return " ".join(str(v) for t in meta.sorted_tables for row in conn.execute(sa.select(t)) for v in row)


def test_add_authenticate_and_roles(store: UserStore) -> None:
    store.add("ana", "operator", PASSWORD)
    user = store.authenticate("ana", PASSWORD)
    assert user.role is Role.OPERATOR
    assert not user.has_role(Role.LEAD)
    with pytest.raises(NotAuthenticated):
        store.authenticate("ana", "wrong password")
    with pytest.raises(NotAuthenticated):
        store.authenticate("nobody", PASSWORD)
    with pytest.raises(Conflict):
        store.add("ana", "lead", PASSWORD)
    with pytest.raises(InvalidInput):
        store.add("bob", "superuser", PASSWORD)


def test_secrets_are_never_stored_in_clear(store: UserStore) -> None:
    store.add("ana", "lead", PASSWORD)
    token = store.issue_token("ana")
    session, _csrf = store.start_session(store.get("ana"), 1)
    assert store.user_for_token(token) is not None
    assert store.session(session) is not None
    stored = _all_text(store.engine)
    assert PASSWORD not in stored
    assert token not in stored and token[3:] not in stored
    assert session not in stored
    assert "$argon2id$" in stored


def test_disable_revokes_sessions_and_tokens(store: UserStore) -> None:
    store.add("ana", "approver", PASSWORD)
    token = store.issue_token("ana")
    session, _ = store.start_session(store.get("ana"), 1)
    store.disable("ana")
    assert store.user_for_token(token) is None
    assert store.session(session) is None
    with pytest.raises(NotAuthenticated):
        store.authenticate("ana", PASSWORD)


def test_migrations_keep_existing_data(engine: sa.Engine) -> None:
    assert migrate(engine, MIGRATIONS[:1]) == [1]
    UserStore(engine).add("ana", "admin", PASSWORD)

    def add_column(conn: sa.Connection) -> None:
        conn.execute(sa.text("ALTER TABLE users ADD COLUMN locale VARCHAR(8) DEFAULT 'es'"))

    upgraded = [*MIGRATIONS, (len(MIGRATIONS) + 1, "test: add a column", add_column)]
    assert migrate(engine, upgraded) == [m[0] for m in upgraded[1:]]
    assert migrate(engine, upgraded) == []
    assert schema_version(engine) == len(upgraded)
    assert UserStore(engine).authenticate("ana", PASSWORD).name == "ana"
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT locale FROM users WHERE name = 'ana'")) == "es"
