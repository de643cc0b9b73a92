"""The state store on SQLite and PostgreSQL: users, secrets stored hashed, login throttling, migrations keep
data."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from kbserver.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from kbserver.store import connect, migrate
from kbserver.store.database import MIGRATIONS, schema_version
from kbserver.throttle import ACCOUNT, ADDRESS, PAIR
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

    # Versions are numbers, not positions: one may be missing (10 is), so the next comes after the last.
    upgraded = [*MIGRATIONS, (MIGRATIONS[-1][0] + 1, "test: add a column", add_column)]
    assert migrate(engine, upgraded) == [m[0] for m in upgraded[1:]]
    assert migrate(engine, upgraded) == []
    assert schema_version(engine) == upgraded[-1][0]
    assert UserStore(engine).authenticate("ana", PASSWORD).name == "ana"
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT locale FROM users WHERE name = 'ana'")) == "es"


@pytest.mark.parametrize("name", ["admin\n", "ana\r\n", " ana", "Ana", "a", "ana\x00"])
def test_user_names_are_whole_names(store: UserStore, name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid user name"):
        store.add(name, "admin", PASSWORD)
    assert store.list() == []


@pytest.mark.parametrize(
    ("display_name", "email"),
    [
        ("Fix\n\nApproved-by: Forged <f@x> (approver)", ""),
        ("Ana\rPérez", ""),
        ("Ana\x00", ""),
        ("Ana\u2028Pérez", ""),  # a line separator
        ("Ana\u202eorteP", ""),  # a bidi override
        ("Ana <ana@x.test>", ""),
        ("", "ana@x.test\nApproved-by: Forged <f@x> (approver)"),
        ("", "ana@x.test>"),
        ("", "not an address"),
        ("x" * 201, ""),
    ],
)
def test_display_names_and_emails_are_one_line(store: UserStore, display_name: str, email: str) -> None:
    with pytest.raises(InvalidInput):
        store.add("ana", "lead", PASSWORD, display_name, email)
    assert store.list() == []


def test_plain_display_names_and_emails_are_kept(store: UserStore) -> None:
    user = store.add("ana", "lead", PASSWORD, "Ána Pérez-Núñez (L2)", "ana.perez+kb@cliente.example")
    assert (user.display_name, user.email) == ("Ána Pérez-Núñez (L2)", "ana.perez+kb@cliente.example")


def test_a_new_password_ends_the_other_sessions_and_every_token(store: UserStore) -> None:
    user = store.add("ana", "lead", PASSWORD)
    token = store.issue_token("ana")
    kept, _ = store.start_session(user, 1)
    other, _ = store.start_session(user, 1)
    store.set_password("ana", "a new password", keep_session=kept)
    assert store.user_for_token(token) is None
    assert store.session(other) is None
    assert store.session(kept) is not None  # the session that changed it goes on
    store.set_password("ana", "yet another one")  # `kb user passwd`: no session is kept
    assert store.session(kept) is None
    assert store.authenticate("ana", "yet another one").name == "ana"


def test_one_token_is_revoked_and_the_others_work(store: UserStore) -> None:
    store.add("ana", "lead", PASSWORD)
    store.add("bob", "lead", PASSWORD)
    first_id, first = store.new_token("ana", "script de informes")
    _second_id, second = store.new_token("ana")
    listed = store.tokens("ana")
    assert [t["id"] for t in listed] == [first_id, _second_id] and listed[0]["label"] == "script de informes"
    assert first not in str(listed)
    with pytest.raises(NotFound):
        store.revoke_token("bob", first_id)  # only the owner's tokens
    store.revoke_token("ana", first_id)
    assert store.user_for_token(first) is None and store.user_for_token(second) is not None
    with pytest.raises(NotFound):
        store.revoke_token("ana", first_id)


def test_enable_lets_a_disabled_user_in_again(store: UserStore) -> None:
    store.add("ana", "operator", PASSWORD)
    store.disable("ana")
    assert store.enable("ana").disabled is False
    assert store.authenticate("ana", PASSWORD).name == "ana"


def test_the_last_active_admin_cannot_be_disabled(store: UserStore) -> None:
    store.add("root", "admin", PASSWORD)
    store.add("ana", "operator", PASSWORD)
    with pytest.raises(Conflict, match="last active admin"):
        store.disable("root")
    store.add("eva", "admin", PASSWORD)
    store.disable("eva")
    with pytest.raises(Conflict, match="last active admin"):
        store.disable("root")  # eva is an admin, but a disabled one
    store.enable("eva")
    assert store.disable("root").disabled
    with pytest.raises(Conflict):
        store.disable("eva")
    assert store.disable("ana").disabled  # not an admin: no limit


def test_failed_logins_wait_longer_and_longer(store: UserStore) -> None:
    store.add("ana", "lead", PASSWORD)
    throttle, moment = store.throttle, datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for _ in range(PAIR.free):  # failed, without a wait
        throttle.admit("ana", "10.0.0.9", moment)
    waits = []
    for _ in range(10):
        with pytest.raises(TooManyRequests) as refused:
            throttle.admit("ana", "10.0.0.9", moment)
        waits.append(refused.value.retry_after)
        moment += timedelta(seconds=refused.value.retry_after or 0)
        throttle.admit("ana", "10.0.0.9", moment)  # the wait is over: one more try, failed
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]  # doubling, up to its longest wait
    # Refused attempts are not counted: hammering a locked account does not stretch its wait.
    for _ in range(50):
        with pytest.raises(TooManyRequests):
            throttle.admit("ana", "10.0.0.9", moment + timedelta(seconds=1))
    throttle.admit("ana", "10.0.0.9", moment + PAIR.longest)
    throttle.succeeded("ana", "10.0.0.9")  # a right password forgets the failures
    for _ in range(PAIR.free):
        throttle.admit("ana", "10.0.0.9", moment + PAIR.longest)
    with pytest.raises(TooManyRequests):
        throttle.admit("ana", "10.0.0.9", moment + PAIR.longest)


def test_an_attacker_cannot_lock_a_real_user_out_for_long(store: UserStore) -> None:
    store.add("ana", "lead", PASSWORD)
    throttle, moment = store.throttle, datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    refused_attacker = 0
    for _ in range(300):  # an attacker at one address, guessing as fast as it is let
        try:
            throttle.admit("ana", "10.6.6.6", moment)
        except TooManyRequests:
            refused_attacker += 1
        moment += timedelta(seconds=1)
    assert refused_attacker > 250
    throttle.admit("ana", "192.0.2.10", moment)  # Ana, from her desk, is let in at once
    throttle.succeeded("ana", "192.0.2.10")
    # Guessing one password for many accounts: the attacker's address runs out, and then waits, for all.
    names = iter(range(1000))
    with pytest.raises(TooManyRequests) as refused:
        for _ in range(ADDRESS.free + 1):
            throttle.admit(f"user{next(names)}", "10.6.6.6", moment)
    for _ in range(8):
        moment += timedelta(seconds=refused.value.retry_after or 0)
        throttle.admit(f"user{next(names)}", "10.6.6.6", moment)
        with pytest.raises(TooManyRequests) as refused:
            throttle.admit(f"user{next(names)}", "10.6.6.6", moment)
    assert (refused.value.retry_after or 0) >= 256
    # Many addresses guessing together slow the account itself. Ana's desk, known from her logins, is
    # exempt; from an address she never used, she is held off for 30 s at most.
    for n in range(ACCOUNT.free * 3):
        with contextlib.suppress(TooManyRequests):
            throttle.admit("ana", f"10.7.{n // 250}.{n % 250}", moment)
        moment += timedelta(seconds=1)
    with pytest.raises(TooManyRequests) as held:
        throttle.admit("ana", "198.51.100.20", moment)
    assert 0 < (held.value.retry_after or 0) <= ACCOUNT.longest.total_seconds()
    throttle.admit("ana", "192.0.2.10", moment)
    throttle.succeeded("ana", "192.0.2.10")


def test_unknown_and_known_names_take_the_same_time(store: UserStore) -> None:
    store.add("ana", "lead", PASSWORD)

    def timed(name: str, address: str) -> float:
        started = time.perf_counter()
        with pytest.raises(NotAuthenticated):
            store.log_in(name, "wrong password", address)
        return time.perf_counter() - started

    known, unknown = [], []
    for n in range(PAIR.free):
        known.append(timed("ana", f"10.1.0.{n}"))
        unknown.append(timed("nadie", f"10.2.0.{n}"))
    fastest_known, fastest_unknown = min(known), min(unknown)
    assert abs(fastest_known - fastest_unknown) < 0.25 * max(fastest_known, fastest_unknown)
    # And both are throttled alike: a refusal does not tell that a name exists.
    for name in ("ana", "nadie"):
        for _ in range(PAIR.free):
            with pytest.raises(NotAuthenticated):
                store.log_in(name, "wrong password", f"10.3.0.{len(name)}")
        with pytest.raises(TooManyRequests):
            store.log_in(name, "wrong password", f"10.3.0.{len(name)}")
