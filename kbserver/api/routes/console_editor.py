"""The lead's editor: a document or a per-kind template, live preview and lint, saved to a change request."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from kbserver.api.deps import LeadUser, ServicesDep
from kbserver.api.routes.console import render
from kbserver.content import Corpus
from kbserver.content.model import FOLDERS, Kind
from kbserver.content.slug import slug
from kbserver.content.templates import new_document, next_id
from kbserver.errors import InvalidInput, KBError, NotFound
from kbserver.services import Services
from kbserver.users import User

router = APIRouter(prefix="/app", tags=["console"], include_in_schema=False)
PATH_PATTERN = r"^docs/[A-Za-z0-9._/-]+\.md$"


def _editor(
    request: Request, user: User, status: int = 200, error: KBError | None = None, **form: object
) -> Response:
    return render(request, "editor.html", status=status, user=user, error=error, **form)


@router.get("/open")
def open_document(id: str = Query(pattern=r"^(KB|SCR|PROC)-\d{2,}$")) -> Response:
    """The start page's "edit a document" box."""
    return RedirectResponse(f"/app/edit/{id}", status_code=303)


@router.get("/edit/{doc_id}")
async def edit_document(doc_id: str, request: Request, user: LeadUser, services: ServicesDep) -> Response:
    """The editor on a document as it is on main; saving opens a change request."""
    stored = await services.run_search(services.search.brief, doc_id)
    if stored is None:
        raise NotFound(f"no document with id {doc_id}")
    source = await run_in_threadpool(services.repository.read, stored["index_commit"], stored["path"])
    text = (source or b"").decode("utf-8", "replace")
    return _editor(request, user, path=stored["path"], text=text, change=None, title=f"{doc_id}: ", new=False)


@router.get("/edit-path")
def edit_in_change(
    request: Request,
    user: LeadUser,
    services: ServicesDep,
    change: int = Query(ge=1),
    path: str = Query(pattern=PATH_PATTERN, max_length=300),
) -> Response:
    """The editor on a file as it is on a change request's branch."""
    record = services.workflow.records.get(change)
    source = services.repository.read(record.head_commit, path)
    if source is None:
        raise NotFound(f"{path} is not on {record.ref}")
    return _editor(
        request, user, path=path, text=source.decode("utf-8", "replace"), change=record, title="", new=False
    )


@router.get("/new")
def new_page(
    request: Request, user: LeadUser, services: ServicesDep, kind: Kind = Kind.ARTICLE, folder: str = ""
) -> Response:
    """The editor on a new document of a kind, with its front matter filled in and the next free id."""
    commit = services.main_commit()
    corpus = Corpus.from_files(services.repository.files(commit) if commit else [])
    doc_id = next_id(corpus, kind)
    title = {"article": "Nuevo artículo", "script": "Nuevo guion", "procedure": "Nuevo capítulo"}[kind.value]
    folder = f"{slug(folder, 'nuevo', 60) if folder else 'general'}/" if kind is Kind.ARTICLE else ""
    path = f"{FOLDERS[kind]}{folder}{slug(title, 'nuevo', 60)}-{doc_id.lower()}.md"
    text = new_document(kind, doc_id, title, user.name, date.today())
    return _editor(request, user, path=path, text=text, change=None, title=f"{doc_id}: {title}", new=True)


def _write(services: Services, user: User, path: str, text: str, change: int, head: str, title: str) -> int:
    record = services.workflow.records.get(change) if change else services.workflow.create(user, title)
    services.workflow.write(
        user, record.number, {path: text.encode()}, head or record.head_commit, f"Edit {path}"
    )
    return record.number


@router.post("/edit")
async def save(
    request: Request,
    user: LeadUser,
    services: ServicesDep,
    path: str = Form(pattern=PATH_PATTERN, max_length=300),
    text: str = Form(max_length=500_000),
    change: int = Form(0, ge=0),
    head: str = Form("", pattern=r"^([0-9a-f]{40})?$", description="the branch head the edit was made on"),
    title: str = Form("", max_length=200),
    action: str = Form("save"),
) -> Response:
    """Save the text to the change request (a new one when none is given), and submit it when asked.
    On any refusal the editor comes back with the text as it was sent: nothing typed is lost."""
    text = text.replace("\r\n", "\n")
    form = {"path": path, "text": text, "title": title, "new": False}
    try:
        if ".." in path.split("/"):
            raise InvalidInput("path must stay inside docs/")
        if not change and len(title.strip()) < 3:
            raise InvalidInput("give the change request a title")
        change = await run_in_threadpool(_write, services, user, path, text, change, head, title.strip())
        if action == "submit":
            await run_in_threadpool(services.workflow.submit, user, change)
    except KBError as exc:
        if exc.status in (401, 403):
            raise
        record = await run_in_threadpool(services.workflow.records.get, change) if change else None
        return _editor(request, user, exc.status, exc, change=record, **form)
    return RedirectResponse(f"/app/changes/{change}", status_code=303)
