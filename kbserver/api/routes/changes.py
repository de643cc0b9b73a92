"""Change requests over HTTP: propose, edit, review, approve and merge; diffs, policy status, audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from approval.branch import check_content_path
from approval.model import State
from approval.review import change_diff, retired_text
from kbserver.api.contract import created, errors, listed
from kbserver.api.deps import CurrentUser, LeadUser, RecordId, ServicesDep
from kbserver.api.models.changes import ChangeDiff, ChangeEvent, ChangeRequestOut, ChangeView
from kbserver.api.paging import PageDep, paginate
from kbserver.errors import InvalidInput
from kbserver.services import Services

# Every route needs a login. A session's writes need the CSRF token (403); writes meet a state or a head that
# moved (409) or a full disk (503); a body may be no JSON at all (400).
router = APIRouter(prefix="/api/changes", tags=["changes"], responses=errors(401, 422))
READ = errors(404)
WRITE = errors(403, 404, 409, 503)
BODY_WRITE = errors(400) | WRITE
Path = Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]+$", max_length=300)]


class NewChange(BaseModel):
    title: str = Field(min_length=3, max_length=200)


class Commit(BaseModel):
    changes: dict[Path, str | None] = Field(description="path -> new text, or null to delete the file")
    expected_head: str = Field(pattern=r"^[0-9a-f]{40}$", description="the head the edit was made on")
    message: str = Field("", max_length=2000)


class Retire(BaseModel):
    path: Path
    expected_head: str = Field(pattern=r"^[0-9a-f]{40}$")


class Note(BaseModel):
    body: str = Field("", max_length=10_000)


def _view(services: Services, number: int) -> dict[str, Any]:
    change = services.workflow.records.get(number)
    return {
        **change.as_json(),
        "policy": services.workflow.status(number).as_json(),
        "reviews": [
            {
                "user": r.user,
                "role": r.role,
                "verdict": r.verdict.value,
                "head_commit": r.head_commit,
                "body": r.body,
                "at": r.created_at.isoformat(),
            }
            for r in services.workflow.records.reviews(number)
        ],
    }


@router.get("", response_model=list[ChangeRequestOut], responses=listed())
def list_changes(
    user: CurrentUser,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
    state: State | None = None,
    mine: bool = False,
    awaiting_me: Annotated[
        bool, Query(description="in review and still missing an approval of my role")
    ] = False,
) -> list[dict[str, Any]]:
    """Change requests, newest first."""
    found = services.workflow.records.find(state.value if state else None, user.name if mine else None)
    if awaiting_me:
        found = services.workflow.awaiting(user, found)
    return [c.as_json() for c in paginate(found, chosen, request, response)]


@router.post(
    "",
    status_code=201,
    response_model=ChangeView,
    responses=created("the change request") | errors(400, 403, 503),
)
def create_change(
    body: NewChange, user: CurrentUser, services: ServicesDep, response: Response
) -> dict[str, Any]:
    """Open a change request: a new branch off main, in draft. Any user may propose."""
    number = services.workflow.create(user, body.title).number
    response.headers["Location"] = f"/api/changes/{number}"
    return _view(services, number)


@router.get("/{number}", response_model=ChangeView, responses=READ)
def show_change(number: RecordId, _user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The change request, its policy status (required, received, missing) and its reviews."""
    return _view(services, number)


def _encoded(path: str, text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800" decodes from JSON, but is no text
        raise InvalidInput(
            f"the text of {path} has an invalid character at {exc.start}", {"path": path}
        ) from exc


@router.post("/{number}/commits", response_model=ChangeView, responses=BODY_WRITE)
def write_files(number: RecordId, body: Commit, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Write, create or delete files in one commit; 409 with the current head if someone moved it first."""
    changes = {p: (_encoded(p, t) if t is not None else None) for p, t in body.changes.items()}
    services.workflow.write(user, number, changes, body.expected_head, body.message)
    return _view(services, number)


@router.post("/{number}/retire", response_model=ChangeView, responses=BODY_WRITE)
def retire(number: RecordId, body: Retire, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Mark a document `status: retired` in one commit (it stays in git and keeps its id)."""
    check_content_path(body.path)
    head = services.workflow.records.get(number).head_commit
    text = retired_text(services.repository.read(head, body.path), body.path)
    services.workflow.write(user, number, {body.path: text}, body.expected_head, f"Retire {body.path}")
    return _view(services, number)


@router.get("/{number}/diff", response_model=ChangeDiff, responses=READ)
def diff(number: RecordId, _user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Per file: the unified diff, the changed front-matter fields and the page as it will render."""
    change = services.workflow.records.get(number)
    main = services.main_commit() or change.base_commit
    return {
        "number": number,
        "head_commit": change.head_commit,
        "files": change_diff(services.repository, change, main),
        "policy": services.workflow.status(number).as_json(),
    }


@router.get("/{number}/events", response_model=list[ChangeEvent], responses=listed() | READ)
def events(
    number: RecordId,
    _user: CurrentUser,
    services: ServicesDep,
    chosen: PageDep,
    request: Request,
    response: Response,
) -> list[dict[str, Any]]:
    """The append-only audit log, oldest first: who, when, from which state to which, at which head."""
    services.workflow.records.get(number)
    return paginate(services.workflow.records.events(number), chosen, request, response)


@router.post("/{number}/submit", response_model=ChangeView, responses=WRITE)
def submit(number: RecordId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Ask for review; 422 with the lint findings while there are errors."""
    services.workflow.submit(user, number)
    return _view(services, number)


@router.post("/{number}/comment", response_model=ChangeView, responses=BODY_WRITE)
def comment(number: RecordId, body: Note, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    services.workflow.comment(user, number, body.body)
    return _view(services, number)


@router.post("/{number}/approve", response_model=ChangeView, responses=BODY_WRITE)
def approve(number: RecordId, body: Note, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    services.workflow.approve(user, number, body.body)
    return _view(services, number)


@router.post("/{number}/request-changes", response_model=ChangeView, responses=BODY_WRITE)
def request_changes(number: RecordId, body: Note, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    services.workflow.request_changes(user, number, body.body)
    return _view(services, number)


@router.post("/{number}/reject", response_model=ChangeView, responses=BODY_WRITE)
def reject(number: RecordId, body: Note, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    services.workflow.reject(user, number, body.body)
    return _view(services, number)


@router.post("/{number}/withdraw", response_model=ChangeView, responses=WRITE)
def withdraw(number: RecordId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    services.workflow.withdraw(user, number)
    return _view(services, number)


@router.post("/{number}/update", response_model=ChangeView, responses=WRITE)
def update(number: RecordId, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Merge main into the branch; 409 with the conflicting files when it does not merge cleanly."""
    services.workflow.update(user, number)
    return _view(services, number)


@router.post("/{number}/merge", response_model=ChangeView, responses=WRITE)
async def merge(number: RecordId, user: LeadUser, services: ServicesDep) -> dict[str, Any]:
    """Merge into main while the policy is met; the index catches up before this returns, the site follows."""
    await run_in_threadpool(services.merge, user, number)
    return await run_in_threadpool(_view, services, number)
