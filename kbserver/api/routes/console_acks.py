"""Console pages for read confirmations: one's own changed documents to read and confirm, and the leads'
report of who confirmed, who has not and who is overdue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from kbserver.api.deps import CurrentUser, LeadUser, ServicesDep
from kbserver.api.routes.console import render
from kbserver.errors import NotFound
from kbserver.feedback.catalog import as_csv

router = APIRouter(prefix="/app/acks", tags=["console"], include_in_schema=False)
DocId = Annotated[str, Path(pattern=r"^(SCR|PROC)-\d{2,}$")]


@router.get("/report")
async def report_page(request: Request, user: LeadUser, services: ServicesDep) -> Response:
    """Per chapter and script: confirmed, pending and overdue, each linking to who."""
    rows = await run_in_threadpool(services.acks.documents, None)
    return render(request, "acks_report.html", user=user, acks=rows, days=services.settings.ack_days)


@router.get("/report.csv")
async def report_csv(_user: LeadUser, services: ServicesDep) -> Response:
    """Every person's standing on every changed document, as CSV (the same rows as `kb report acks --csv`)."""
    rows = await run_in_threadpool(services.acks.people, None, None)
    return Response(
        as_csv(rows) + "\r\n" if rows else "",
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="acks.csv"'},
    )


@router.get("/report/{doc_id}")
async def people_page(request: Request, doc_id: DocId, user: LeadUser, services: ServicesDep) -> Response:
    """One document's audience: who confirmed its current version and when, who has not, who is overdue."""
    rows = await run_in_threadpool(services.acks.people, doc_id, None)
    return render(request, "acks_people.html", user=user, doc_id=doc_id, people=rows)


@router.get("/{doc_id}")
async def ask_page(request: Request, doc_id: DocId, user: CurrentUser, services: ServicesDep) -> Response:
    """A changed document I have not confirmed: the word diff since my version, and the confirm button."""
    try:
        ask = await run_in_threadpool(services.acks.ask, user, doc_id)
    except NotFound:
        ask = None
    return render(request, "ack.html", user=user, ask=ask, doc_id=doc_id)


@router.post("/{doc_id}")
async def confirm(
    doc_id: DocId,
    user: CurrentUser,
    services: ServicesDep,
    commit: Annotated[str, Form(pattern=r"^[0-9a-f]{40}$")],
    back: Annotated[str, Form(max_length=200)] = "/app",
) -> Response:
    """Confirm having read the version shown (the dependency has checked the form's CSRF token)."""
    await run_in_threadpool(services.acks.confirm, user, doc_id, commit)
    target = back if back.startswith("/app") and not back.startswith("//") else "/app"
    return RedirectResponse(target, status_code=303)
