"""Users, roles, password login, API tokens and browser sessions."""

from __future__ import annotations

import builtins
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kbserver.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from kbserver.identity import check_name, check_profile, one_line
from kbserver.store.schema import api_tokens, sessions, users
from kbserver.throttle import LoginThrottle

log = logging.getLogger(__name__)
_HASHER = PasswordHasher()  # argon2id: memory-hard
# Compared against when a user does not exist, so that login takes as long for unknown names.
_DUMMY_HASH = _HASHER.hash("not a real password")


class Role(StrEnum):
    OPERATOR = "operator"
    LEAD = "lead"
    APPROVER = "approver"
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    display_name: str
    email: str
    role: Role
    disabled: bool

    def has_role(self, *roles: Role) -> bool:
        """Whether the user holds one of roles; admins hold every role for access checks."""
        return self.role is Role.ADMIN or self.role in roles

    def as_json(self) -> dict[str, object]:
        """The user as the API shows it (never with secrets)."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "email": self.email,
            "role": str(self.role),
            "disabled": self.disabled,
        }


# Built once: every authenticated request runs one, and building it each time cost more than running it.
_BY_TOKEN = (
    sa.select(users, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
    .join(api_tokens, api_tokens.c.user_id == users.c.id)
    .where(api_tokens.c.token_hash == sa.bindparam("digest"))
)
_BY_SESSION = (
    sa.select(users, sessions.c.csrf_token, sessions.c.expires_at)
    .join(sessions, sessions.c.user_id == users.c.id)
    .where(sessions.c.token_hash == sa.bindparam("digest"))
)


def _digest(secret: str) -> str:
    # Tokens are 256-bit random values, so a fast hash is enough; passwords get argon2.
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class UserStore:
    """Users and their credentials in the state store."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.throttle = LoginThrottle(engine)

    def add(
        self, name: str, role: str, password: str | None, display_name: str = "", email: str = ""
    ) -> User:
        """Create a user; the password, if given, is stored as an argon2 hash."""
        check_name(name)
        check_profile(display_name, email)
        try:
            role_value = Role(role)
        except ValueError as exc:
            allowed = ", ".join(r.value for r in Role)
            raise InvalidInput(f"unknown role {role!r}; allowed: {allowed}") from exc
        if password is not None and len(password) < 8:
            raise InvalidInput("the password must have at least 8 characters")
        with self.engine.begin() as conn:
            if conn.scalar(sa.select(users.c.id).where(users.c.name == name)) is not None:
                raise Conflict(f"user {name} already exists")
            conn.execute(
                users.insert().values(
                    name=name,
                    display_name=display_name or name,
                    email=email or f"{name}@localhost",
                    role=role_value.value,
                    password_hash=_HASHER.hash(password) if password else None,
                    disabled=False,
                    created_at=_now(),
                )
            )
        return self.get(name)

    def get(self, name: str) -> User:
        """The user called name."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        if row is None:
            raise NotFound(f"no user {name!r}")
        return _user(row)

    def list(self) -> list[User]:
        """Every user, by name."""
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.name))]

    def count(self) -> int:
        """How many users exist."""
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(users)) or 0)

    def disable(self, name: str) -> User:
        """Disable a user and end their sessions and tokens; never the last active admin."""
        user = self.get(name)
        other = users.alias("other")
        admins = (other.c.role == Role.ADMIN.value) & other.c.disabled.is_(False)
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Two admins disabling each other at once: the second waits here, then counts again.
                conn.execute(sa.select(other.c.id).where(admins).with_for_update())
            others = sa.select(sa.func.count()).where(admins & (other.c.id != user.id)).scalar_subquery()
            # One statement: on SQLite it takes the write lock before it counts.
            done = conn.execute(
                users.update()
                .where((users.c.id == user.id) & ((users.c.role != Role.ADMIN.value) | (others > 0)))
                .values(disabled=True)
            )
            if not done.rowcount:
                raise Conflict(f"{name} is the last active admin; enable or add another admin first")
            conn.execute(sessions.delete().where(sessions.c.user_id == user.id))
            conn.execute(api_tokens.delete().where(api_tokens.c.user_id == user.id))
        return self.get(name)

    def enable(self, name: str) -> User:
        """Let a disabled user log in again (their old sessions and tokens stay ended)."""
        user = self.get(name)
        with self.engine.begin() as conn:
            conn.execute(users.update().where(users.c.id == user.id).values(disabled=False))
        return self.get(name)

    def set_password(self, name: str, password: str, keep_session: str | None = None) -> None:
        """Replace a user's password and end their sessions (but keep_session) and API tokens: whoever
        held the old password may have opened them."""
        if len(password) < 8:
            raise InvalidInput("the password must have at least 8 characters")
        user = self.get(name)
        kept = _digest(keep_session) if keep_session else ""
        with self.engine.begin() as conn:
            conn.execute(
                users.update().where(users.c.id == user.id).values(password_hash=_HASHER.hash(password))
            )
            conn.execute(
                sessions.delete().where((sessions.c.user_id == user.id) & (sessions.c.token_hash != kept))
            )
            conn.execute(api_tokens.delete().where(api_tokens.c.user_id == user.id))

    def log_in(self, name: str, password: str, address: str) -> User:
        """authenticate, throttled per account and per client address (TooManyRequests while waiting)."""
        self.throttle.admit(name, address)
        user = self.authenticate(name, password)
        self.throttle.succeeded(name, address)
        return user

    def authenticate(self, name: str, password: str) -> User:
        """The user whose name and password match; the same error for every failure."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).first()
        stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password)
            ok = row is not None and row.password_hash is not None and not row.disabled
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None:
            raise NotAuthenticated("wrong user name or password")
        return _user(row)

    def issue_token(self, name: str, label: str = "") -> str:
        """A new API token for the user; only its hash is stored, so it is shown once."""
        return self.new_token(name, label)[1]

    def new_token(self, name: str, label: str = "") -> tuple[int, str]:
        """A new API token for the user, with its id (to revoke it by); only its hash is stored."""
        user = self.get(name)
        if user.disabled:
            raise Conflict(f"user {name} is disabled")
        one_line("label", label, 200)
        token = "kb_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            token_id = conn.execute(
                api_tokens.insert()
                .returning(api_tokens.c.id)
                .values(user_id=user.id, token_hash=_digest(token), label=label, created_at=_now())
            ).scalar_one()
        return int(token_id), token

    def tokens(self, name: str) -> builtins.list[dict[str, object]]:
        """The user's API tokens (never the secrets): id, label, when created and last used."""
        user = self.get(name)
        query = sa.select(api_tokens).where(api_tokens.c.user_id == user.id).order_by(api_tokens.c.id)
        with self.engine.connect() as conn:
            return [
                {
                    "id": row.id,
                    "label": row.label,
                    "created_at": _aware(row.created_at).isoformat(),
                    "last_used_at": _aware(row.last_used_at).isoformat() if row.last_used_at else None,
                }
                for row in conn.execute(query)
            ]

    def revoke_token(self, name: str, token_id: int) -> None:
        """End one API token of the user."""
        user = self.get(name)
        with self.engine.begin() as conn:
            done = conn.execute(
                api_tokens.delete().where((api_tokens.c.id == token_id) & (api_tokens.c.user_id == user.id))
            )
        if not done.rowcount:
            raise NotFound(f"{name} has no API token {token_id}")

    def user_for_token(self, token: str) -> User | None:
        """The active user an API token belongs to; its last use is recorded (at most once a minute)."""
        found = self.token_holder(token)
        if found is None:
            return None
        user, due = found
        if due is not None:
            self.record_token_use(due, user.name)
        return user

    def token_holder(self, token: str) -> tuple[User, int | None] | None:
        """The active user an API token belongs to, and the token's id when its last use is due to be recorded
        (at most once a minute, so that reading with a token is not a write every time). Only reads."""
        with self.engine.connect() as conn:
            row = conn.execute(_BY_TOKEN, {"digest": _digest(token)}).first()
        if row is None or row.disabled:
            return None
        due = row.last_used_at is None or _now() - _aware(row.last_used_at) > timedelta(minutes=1)
        return _user(row), (int(row.token_id) if due else None)

    def record_token_use(self, token_id: int, name: str) -> None:
        """Note that a token was used now, if the store can take it (a full disk must not stop a reader)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=_now())
                )
        except sa.exc.SQLAlchemyError as exc:
            log.warning("API token of %s: last use not recorded: %s", name, exc)

    def start_session(self, user: User, hours: int) -> tuple[str, str]:
        """A new browser session; returns (session token, CSRF token)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.expires_at < now))
            conn.execute(
                sessions.insert().values(
                    token_hash=_digest(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + timedelta(hours=hours),
                )
            )
        return token, csrf

    def session(self, token: str) -> tuple[User, str] | None:
        """The user and CSRF token of a live session."""
        with self.engine.connect() as conn:
            row = conn.execute(_BY_SESSION, {"digest": _digest(token)}).first()
        if row is None or row.disabled or _aware(row.expires_at) < _now():
            return None
        return _user(row), str(row.csrf_token)

    def end_session(self, token: str) -> None:
        """Log a browser session out."""
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.token_hash == _digest(token)))


def _user(row: sa.Row) -> User:  # type: ignore[type-arg]
    return User(row.id, row.name, row.display_name, row.email, Role(row.role), bool(row.disabled))
