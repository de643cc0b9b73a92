"""Console pages: login, logout and the start page."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from kbserver.api.deps import SESSION_COOKIE, CurrentUser, OptionalUser, ServicesDep
from kbserver.api.routes.session import client_address, open_session
from kbserver.console.i18n import language, translator
from kbserver.errors import Forbidden, NotAuthenticated, TooManyRequests
from kbserver.resources import console_templates
from kbserver.users import Role

router = APIRouter(prefix="/app", tags=["console"], include_in_schema=False)
templates = Jinja2Templates(directory=console_templates())
LOGIN_CSRF_COOKIE = "kb_login_csrf"
ASKS_ON_HOME = 20  # changed documents shown with their diffs on the start page; the rest after these


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A console page in the user's language."""
    lang = language(request)
    context |= {"lang": lang, "t": translator(lang), "csrf": getattr(request.state, "csrf", "")}
    services = request.app.state.services
    context["servicenow_on"] = services.servicenow is not None
    user = context.get("user")
    if user is not None and user.has_role(Role.LEAD) and "publication" not in context:
        context["publication"] = services.publication()  # the banner: held commits (cached, no git)
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if request.query_params.get("lang") == lang:
        response.set_cookie("kb_lang", lang, max_age=365 * 86400, samesite="lax")
    return response


def _safe_next(target: str) -> str:
    # Only local paths: an open redirect to another site is refused.
    return target if target.startswith("/") and not target.startswith("//") else "/app"


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str = "/app") -> Response:
    """The login form; it carries a CSRF token that the post must echo."""
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    token = secrets.token_urlsafe(24)
    request.state.csrf = token
    response = render(request, "login.html", next=_safe_next(next), user=None, failed="")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/login")
def login_submit(
    request: Request,
    services: ServicesDep,
    name: str = Form(max_length=64),
    password: str = Form(max_length=1024),
    csrf_token: str = Form(""),
    next: str = Form("/app"),
) -> Response:
    """Check the form's CSRF token and the password, then start a session."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise Forbidden("missing or wrong CSRF token on the login form; reload the page")
    try:
        user = services.users.log_in(name, password, client_address(request))
    except (NotAuthenticated, TooManyRequests) as exc:
        request.state.csrf = expected
        wait = exc.retry_after or 0
        page = render(
            request,
            "login.html",
            exc.status,
            next=_safe_next(next),
            user=None,
            failed="login.throttled" if wait else "login.failed",
            wait=str(wait),
        )
        if wait:
            page.headers["Retry-After"] = str(wait)
        return page
    response = RedirectResponse(_safe_next(next), status_code=303)
    open_session(response, services, user)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, _user: CurrentUser, services: ServicesDep) -> Response:
    """End the session (the dependency has checked the form's CSRF token)."""
    services.users.end_session(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/app/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("")
async def home(request: Request, user: CurrentUser, services: ServicesDep) -> Response:
    """The console's start page: first what changed since the user last confirmed it."""
    asks = await run_in_threadpool(services.acks.due_with_diffs, user, ASKS_ON_HOME)
    return render(request, "home.html", user=user, asks=asks, more=len(asks) == ASKS_ON_HOME)
