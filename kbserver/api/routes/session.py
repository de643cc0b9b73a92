"""Login and logout for the browser and scripts, and who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kbserver.api.contract import errors
from kbserver.api.deps import SESSION_COOKIE, CurrentUser, ServicesDep, optional_user
from kbserver.api.models.people import LoginOut, Me
from kbserver.services import Services
from kbserver.users import User

router = APIRouter(tags=["session"])


class Login(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


def open_session(response: Response, services: Services, user: User) -> str:
    """Start a session for user and set its cookie; returns the CSRF token."""
    token, csrf = services.users.start_session(user, services.settings.session_hours)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=services.settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=services.settings.secure_cookies,
        path="/",
    )
    return csrf


def client_address(request: Request) -> str:
    """The address a request came from (uvicorn puts a trusted proxy's client there), for throttling."""
    return request.client.host if request.client else "unknown"


@router.post("/api/session", response_model=LoginOut, responses=errors(400, 401, 409, 422, 429, 503))
def login(body: Login, request: Request, response: Response, services: ServicesDep) -> dict[str, Any]:
    """Log in with name and password; sets the session cookie and returns the CSRF token. Failed logins
    slow down per account and per address: 429 with Retry-After while a wait runs."""
    user = services.users.log_in(body.name, body.password, client_address(request))
    csrf = open_session(response, services, user)
    return {"user": user.as_json(), "csrf_token": csrf}


@router.delete("/api/session", status_code=204, responses=errors(401, 403))
async def logout(request: Request, response: Response, services: ServicesDep) -> None:
    """End the browser session."""
    await optional_user(request, services)  # checks the CSRF token of a cookie session
    if cookie := request.cookies.get(SESSION_COOKIE):
        await run_in_threadpool(services.users.end_session, cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/api/me", response_model=Me, responses=errors(401))
def me(user: CurrentUser, request: Request, services: ServicesDep) -> dict[str, Any]:
    """The logged-in user, the CSRF token of a browser session, and the ticket pattern forms check."""
    return {
        "user": user.as_json(),
        "csrf_token": getattr(request.state, "csrf", None),
        "ticket_pattern": services.tickets.pattern,
    }
