"""Dependencies: the services, the current user and role requirements, as Annotated aliases."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from annotated_types import Interval
from fastapi import Depends, Path, Request

from kbserver.errors import Forbidden, NotAuthenticated
from kbserver.services import Services
from kbserver.settings import Settings
from kbserver.users import Role, User

SESSION_COOKIE = "kb_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_services(request: Request) -> Services:
    """The services the app factory built. The dependencies here are `async def` although they never wait:
    FastAPI runs a plain `def` dependency on its thread pool, and that hop cost more than the whole check."""
    return request.app.state.services  # type: ignore[no-any-return]


async def get_settings(request: Request) -> Settings:
    """The settings the app factory was given."""
    return request.app.state.services.settings  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def optional_user(request: Request, services: ServicesDep) -> User | None:
    """The user behind a bearer token or a session cookie; session writes must carry the CSRF token."""
    if "user" in request.scope.get("state", {}):
        return request.state.user  # type: ignore[no-any-return]
    user = None
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("use the header 'Authorization: Bearer <token>'")
        holder = services.users.token_holder(token.strip())  # a read: SQLite's WAL never makes it wait
        if holder is None:
            raise NotAuthenticated("invalid or revoked API token")
        user, due = holder
        if due is not None:  # a write, which a locked store would make wait: never on the event loop
            services.defer_write(services.users.record_token_use, due, user.name)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        found = services.users.session(cookie)
        if found:
            user, csrf = found
            request.state.csrf = csrf
            if request.method not in SAFE_METHODS:
                await _check_csrf(request, csrf)
    request.state.user = user
    return user


async def _check_csrf(request: Request, expected: str) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent, expected):
        raise Forbidden("missing or wrong CSRF token", {"header": "X-CSRF-Token", "field": CSRF_FIELD})


OptionalUser = Annotated[User | None, Depends(optional_user)]


async def current_user(user: OptionalUser) -> User:
    """The logged-in user; 401 without one."""
    if user is None:
        raise NotAuthenticated("log in, or send an API token")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def reader(user: OptionalUser, settings: SettingsDep) -> User | None:
    """Whoever may read content: any user, or anyone at all when KB_PUBLIC_READ is on."""
    if user is None and not settings.public_read:
        raise NotAuthenticated("log in to read the knowledge base")
    return user


Reader = Annotated[User | None, Depends(reader)]


def require_role(*roles: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    """A dependency that admits users holding one of roles (admins always)."""

    async def check(user: CurrentUser) -> User:
        if not user.has_role(*roles):
            wanted = " or ".join(r.value for r in roles)
            raise Forbidden(f"this needs the role {wanted}; you are {user.role.value}")
        return user

    return check


AdminUser = Annotated[User, Depends(require_role(Role.ADMIN))]
LeadUser = Annotated[User, Depends(require_role(Role.LEAD))]
ReportReader = Annotated[User, Depends(require_role(Role.LEAD, Role.APPROVER))]


# Record numbers are 64-bit keys in the store: a larger one names no record, and SQLite cannot even look it
# up (OverflowError), so every path and body number that names a record is bounded here, once.
MAX_RECORD_ID = 2**63 - 1
RecordId = Annotated[int, Interval(ge=1, le=MAX_RECORD_ID)]


def doc_id_path() -> Any:
    """A path parameter for a front-matter id; a new one per route, because FastAPI writes into it."""
    return Path(pattern=r"^(KB|SCR|PROC)-\d{2,}$", description="front-matter id, e.g. KB-0001")
