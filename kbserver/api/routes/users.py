"""Users and roles (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kbserver.api.deps import AdminUser, ServicesDep
from kbserver.users import Role

router = APIRouter(prefix="/api/users", tags=["users"])


class NewUser(BaseModel):
    name: str = Field(min_length=2, max_length=64)
    role: Role
    password: str | None = Field(None, min_length=8, max_length=1024)
    display_name: str = ""
    email: str = ""


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
def disable_user(name: str, _admin: AdminUser, services: ServicesDep) -> dict[str, Any]:
    """Disable a user and revoke their sessions and tokens."""
    return services.users.disable(name).as_json()
