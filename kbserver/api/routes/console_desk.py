"""Console pages for leads and approvers: the flag and deviation queues, reports with charts and CSV, and the
knowledge gaps from tickets."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from kbserver.api.deps import MAX_RECORD_ID, AdminUser, LeadUser, RecordId, ReportReader, ServicesDep
from kbserver.api.routes.console import render
from kbserver.api.routes.servicenow import integration
from kbserver.console.charts import bars, chart_height
from kbserver.errors import InvalidInput
from kbserver.feedback.catalog import REPORTS, as_csv, report
from kbserver.feedback.flags import FlagState
from kbserver.servicenow import proposals
from kbserver.users import Role

router = APIRouter(prefix="/app", tags=["console"], include_in_schema=False)
Since = Annotated[date | None, Query(alias="from")]
Until = Annotated[date | None, Query(alias="to")]


@router.get("/queues")
async def queues(request: Request, user: LeadUser, services: ServicesDep) -> Response:
    """Open flags and pending script deviations, with their actions."""
    flags = await run_in_threadpool(services.flags.find, [FlagState.OPEN.value, FlagState.LINKED.value])
    for flag in flags:
        flag["document"] = await services.run_search(services.search.brief, flag["document_id"]) or {}
    return render(
        request,
        "queues.html",
        user=user,
        flags=flags,
        deviations=await run_in_threadpool(services.deviations.find, "pending"),
        link=services.tickets.as_json,
    )


@router.post("/flags/{flag_id}")
def resolve_flag(
    flag_id: RecordId,
    user: LeadUser,
    services: ServicesDep,
    change: int = Form(0, ge=0, le=MAX_RECORD_ID),
    dismiss: str = Form("", max_length=2000),
) -> Response:
    """Link a flag to a change request, or dismiss it with a reason."""
    if change:
        services.workflow.records.get(change)
        services.flags.link(flag_id, change, user.id)
    elif len(dismiss.strip()) >= 3:
        services.flags.dismiss(flag_id, user.id, dismiss.strip())
    else:
        raise InvalidInput("give a change request number, or a reason to dismiss the flag")
    return RedirectResponse("/app/queues", status_code=303)


@router.post("/deviations/{deviation_id}")
def review_deviation(
    deviation_id: RecordId,
    user: LeadUser,
    services: ServicesDep,
    verdict: str = Form(pattern="^(approve|reject)$"),
    comment: str = Form("", max_length=2000),
) -> Response:
    """Approve or reject a script deviation, with a comment."""
    services.deviations.review(deviation_id, verdict == "approve", user.id, comment)
    return RedirectResponse("/app/queues", status_code=303)


def _span(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    return (
        datetime.combine(since, time()) if since else None,
        datetime.combine(until, time()) if until else None,
    )


@router.get("/reports")
def reports_page(
    request: Request,
    user: ReportReader,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
) -> Response:
    """Use and helpfulness over time, top content gaps, first-contact resolution and escalation, from feedback
    and (with ServiceNow) over every ticket."""
    span = _span(since, until)
    usage = report(services, "usage", *span)
    kpis = report(services, "kpis", *span)
    gaps = report(services, "gaps", *span)
    documents = report(services, "documents", *span)
    tickets = report(services, "tickets", *span)  # every ServiceNow ticket: empty while none were pulled
    charts: dict[str, Any] = {
        "usage": bars([(u["week"], [u["votes"]]) for u in usage]),
        "helpful": bars([(u["week"], [u["helpful_rate"]]) for u in usage], percent=True),
        "kpis": bars(
            [
                (k["week"], [k["link_rate"], k["first_contact_resolution"], k["escalation_rate"]])
                for k in kpis
            ],
            percent=True,
        ),
        "tickets": bars(
            [
                (k["week"], [k["link_rate"], k["first_contact_resolution"], k["escalation_rate"]])
                for k in tickets
            ],
            percent=True,
        ),
        "closed": bars([(k["week"], [k["tickets_closed"]]) for k in tickets]),
        "gaps": bars([(g["query"], [g["searches"]]) for g in gaps if g["gap"] == "no_results"][:10]),
        "unused": bars([(g["query"], [g["searches"]]) for g in gaps if g["gap"] == "not_opened"][:10]),
    }
    return render(
        request,
        "reports.html",
        user=user,
        charts=charts,
        heights={name: chart_height(chart) for name, chart in charts.items()},
        documents=documents[:25],
        since=since.isoformat() if since else "",
        until=until.isoformat() if until else "",
        names=REPORTS,
        # Read confirmations name people: leads and admins only (approvers see the desk's figures).
        acks=services.acks.documents() if user.has_role(Role.LEAD) else None,
        days=services.settings.ack_days,
    )


@router.get("/reports/{name}.csv")
def report_csv(
    name: str,
    _user: ReportReader,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
) -> Response:
    """A report as a CSV download."""
    if name not in REPORTS:
        raise InvalidInput(f"unknown report {name!r}", {"reports": list(REPORTS)})
    rows = report(services, name, *_span(since, until))
    return Response(
        as_csv(rows) + "\r\n" if rows else "",
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/servicenow")
def servicenow_page(request: Request, user: AdminUser, services: ServicesDep) -> Response:
    """The ServiceNow outbox for admins: its counts and the dead letters, each with a retry action."""
    box = integration(services).outbox
    return render(request, "servicenow.html", user=user, counts=box.counts(), dead=box.entries("dead"))


@router.post("/servicenow/{entry_id}/retry")
def servicenow_retry(entry_id: RecordId, _user: AdminUser, services: ServicesDep) -> Response:
    """Send a dead entry to ServiceNow again."""
    found = integration(services)
    found.outbox.retry(entry_id)
    found.wake()
    return RedirectResponse("/app/servicenow", status_code=303)


@router.get("/gaps")
def gaps_page(
    request: Request,
    user: LeadUser,
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
    min_tickets: Annotated[int, Query(ge=1, le=1_000_000)] = 2,
) -> Response:
    """Clusters of resolved tickets that no article answers well, each with a button to propose one."""
    span = proposals.span(services, *_span(since, until))
    found = proposals.gaps(services, *span, min_tickets)
    return render(
        request,
        "gaps.html",
        user=user,
        clusters=found[:100],
        total=len(found),
        coverage=services.settings.servicenow_gap_coverage,
        since=span[0].date().isoformat() if span[0] else "",
        until=until.isoformat() if until else "",
        min_tickets=min_tickets,
    )


@router.post("/gaps/{cluster}")
def gaps_propose(
    cluster: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9]{1,40}$")],
    user: LeadUser,
    services: ServicesDep,
    since: Annotated[date | None, Form(alias="from")] = None,
    until: Annotated[date | None, Form(alias="to")] = None,
) -> Response:
    """Open the change request with an article drafted from the gap, and show it."""
    done = proposals.propose(services, cluster, user.name, *_span(since, until))
    return RedirectResponse(f"/app/changes/{done['change_request']}", status_code=303)
