"""Users and roles (admins only), and API tokens (admins, or the user the tokens belong to)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from kbserver.api.contract import created, errors, listed
from kbserver.api.deps import AdminUser, CurrentUser, RecordId, ServicesDep
from kbserver.api.models.people import TokenOut, UserOut
from kbserver.api.paging import PageDep, paginate
from kbserver.errors import Forbidden
from kbserver.users import Role, User

# Admins only (403 for anyone else), except the tokens and the user themself.
router = APIRouter(prefix="/api/users", tags=["users"], responses=errors(401, 403, 422))
UserName = Annotated[str, Path(max_length=64, description="the user's name")]


class NewUser(BaseModel):
    name: str = Field(min_length=2, max_length=64)
    role: Role
    password: str | None = Field(None, min_length=8, max_length=1024)
    display_name: str = Field("", max_length=200, description="one line, no control characters")
    email: str = Field("", max_length=320, description="one line, no control characters")


def _self_or_admin(user: User, name: str, what: str = "manages API tokens") -> None:
    if user.name != name and not user.has_role(Role.ADMIN):
        raise Forbidden(f"only an admin, or the user themself, {what}")


@router.get("", response_model=list[UserOut], responses=listed())
def list_users(
    _admin: AdminUser, services: ServicesDep, chosen: PageDep, request: Request, response: Response
) -> list[dict[str, Any]]:
    """Every user and their role, by name."""
    return [u.as_json() for u in paginate(services.users.list(), chosen, request, response)]


@router.post(
    "", status_code=201, response_model=UserOut, responses=created("the user") | errors(400, 409, 503)
)
def add_user(body: NewUser, _admin: AdminUser, services: ServicesDep, response: Response) -> dict[str, Any]:
    """Create a user."""
    user = services.users.add(body.name, body.role.value, body.password, body.display_name, body.email)
    response.headers["Location"] = f"/api/users/{quote(user.name, safe='')}"
    return user.as_json()


@router.get("/{name}", response_model=UserOut, responses=errors(404))
def get_user(name: UserName, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """One user and their role: for admins, and for the user themself."""
    _self_or_admin(user, name, "sees a user's record")
    return services.users.get(name).as_json()


@router.post("/{name}/disable", response_model=UserOut, responses=errors(404, 409, 503))
def disable_user(name: UserName, _admin: AdminUser, services: ServicesDep) -> dict[str, Any]:
    """Disable a user and revoke their sessions and tokens (409 for the last active admin)."""
    return services.users.disable(name).as_json()


@router.post("/{name}/enable", response_model=UserOut, responses=errors(404, 503))
def enable_user(name: UserName, _admin: AdminUser, services: ServicesDep) -> dict[str, Any]:
    """Let a disabled user log in again."""
    return services.users.enable(name).as_json()


@router.get("/{name}/tokens", response_model=list[TokenOut], responses=listed() | errors(404))
def list_tokens(
    name: UserName,
    user: CurrentUser,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
) -> list[dict[str, object]]:
    """A user's API tokens: id, label, created and last used (never the secret)."""
    _self_or_admin(user, name)
    return paginate(services.users.tokens(name), chosen, request, response)


@router.delete("/{name}/tokens/{token_id}", status_code=204, responses=errors(404, 503))
def revoke_token(name: UserName, token_id: RecordId, user: CurrentUser, services: ServicesDep) -> None:
    """Revoke one API token; the user's other tokens and sessions go on working."""
    _self_or_admin(user, name)
    services.users.revoke_token(name, token_id)
