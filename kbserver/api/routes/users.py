"""Users and roles (admins only), and API tokens (admins, or the user the tokens belong to)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from kbserver.api.deps import AdminUser, CurrentUser, RecordId, ServicesDep
from kbserver.errors import Forbidden
from kbserver.users import Role, User

router = APIRouter(prefix="/api/users", tags=["users"])
UserName = Annotated[str, Path(max_length=64, description="the user's name")]


class NewUser(BaseModel):
    name: str = Field(min_length=2, max_length=64)
    role: Role
    password: str | None = Field(None, min_length=8, max_length=1024)
    display_name: str = Field("", max_length=200, description="one line, no control characters")
    email: str = Field("", max_length=320, description="one line, no control characters")


def _self_or_admin(user: User, name: str) -> None:
    if user.name != name and not user.has_role(Role.ADMIN):
        raise Forbidden("only an admin, or the user they belong to, manages API tokens")


@router.get("")
def list_users(_admin: AdminUser, services: ServicesDep) -> list[dict[str, Any]]:
    """Every user and their role."""
    return [u.as_json() for u in services.users.list()]


@router.post("", status_code=201)
def add_user(body: NewUser, _admin: AdminUser, services: ServicesDep) -> dict[str, Any]:
    """Create a user."""
    user = services.users.add(body.name, body.role.value, body.password, body.display_name, body.email)
    return user.as_json()


@router.post("/{name}/disable")
def disable_user(name: UserName, _admin: AdminUser, services: ServicesDep) -> dict[str, Any]:
    """Disable a user and revoke their sessions and tokens (409 for the last active admin)."""
    return services.users.disable(name).as_json()


@router.post("/{name}/enable")
def enable_user(name: UserName, _admin: AdminUser, services: ServicesDep) -> dict[str, Any]:
    """Let a disabled user log in again."""
    return services.users.enable(name).as_json()


@router.get("/{name}/tokens")
def list_tokens(name: UserName, user: CurrentUser, services: ServicesDep) -> list[dict[str, object]]:
    """A user's API tokens: id, label, created and last used (never the secret)."""
    _self_or_admin(user, name)
    return services.users.tokens(name)


@router.delete("/{name}/tokens/{token_id}", status_code=204)
def revoke_token(name: UserName, token_id: RecordId, user: CurrentUser, services: ServicesDep) -> None:
    """Revoke one API token; the user's other tokens and sessions go on working."""
    _self_or_admin(user, name)
    services.users.revoke_token(name, token_id)
