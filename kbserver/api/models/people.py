"""Response bodies of users, sessions and health."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from kbserver.users import Role


class UserOut(BaseModel):
    """A user and their role (never a secret)."""

    name: str
    display_name: str
    email: str
    role: Role
    disabled: bool


class TokenOut(BaseModel):
    """An API token, without its secret."""

    id: int
    label: str
    created_at: AwareDatetime
    last_used_at: AwareDatetime | None


class LoginOut(BaseModel):
    """A new browser session: the user, and the CSRF token every write must carry."""

    user: UserOut
    csrf_token: str


class Me(BaseModel):
    """The logged-in user."""

    user: UserOut
    csrf_token: str | None = Field(description="the CSRF token of a browser session; null with an API token")
    ticket_pattern: str = Field(description="the regular expression ticket references must match")


class Part(BaseModel):
    """A derived part (the site, the index) and the commit it reflects."""

    commit: str | None
    ready: bool


class HealthOut(BaseModel):
    """Liveness and the commit being served."""

    status: str = Field(description="`ok`, or `no_content` while the branch does not exist")
    version: str
    branch: str
    commit: str | None
    site: Part
    index: Part
    schema_version: int | None
