"""Documents by their front-matter id: metadata, rendered HTML, source, last change, translations, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from kbserver.api.contract import errors, listed
from kbserver.api.deps import Reader, ServicesDep, doc_id_path
from kbserver.api.models.content import DocumentHistory, DocumentOut
from kbserver.api.paging import PageDep, paginate
from kbserver.content import parse_document, render_html
from kbserver.errors import NotFound
from kbserver.services import Services

router = APIRouter(prefix="/api/documents", tags=["documents"], responses=errors(401, 404, 422))
HISTORY_LIMIT = 10_000  # commits of one document: far more than any has


def _find(services: Services, doc_id: str) -> dict[str, Any]:
    stored = services.search.lookup(doc_id)
    if stored is None:
        raise NotFound(f"no document with id {doc_id}")
    return stored


def _read(services: Services, stored: dict[str, Any], original: dict[str, Any] | None) -> dict[str, Any]:
    # Every git read of the document, on a worker thread: a slow disk or git never holds up the event loop.
    doc_id, commit = stored["id"], stored["index_commit"]
    source = services.repository.read(commit, stored["path"])
    if source is None:
        raise NotFound(f"{doc_id} is not in commit {commit}")
    doc = parse_document(stored["path"], source)
    last = services.repository.log(commit, stored["path"], limit=1)
    translations = list(stored["translations"])
    meta = doc.meta.model_dump(mode="json", exclude_none=True) if doc.meta else doc.raw_meta
    stale = False
    if original:
        translations.insert(0, {k: original[k] for k in ("id", "lang", "title", "url")} | {"source": True})
        if pinned := meta.get("source_commit"):
            try:
                stale = services.repository.changed_since(original["path"], pinned, commit)
            except NotFound:
                stale = True  # pinned to a commit git no longer knows: the translation needs a look
    return {
        "id": doc_id,
        "kind": stored["kind"],
        "path": stored["path"],
        "url": stored["url"],
        "commit": commit,
        "meta": meta,
        "html": render_html(doc.body, stored["path"], services.repository.paths(commit)),
        "markdown": source.decode("utf-8", errors="replace"),
        "last_change": (
            {"commit": last[0].sha, "author": last[0].author, "date": last[0].date} if last else None
        ),
        "translations": translations,
        "translation_stale": stale,  # the source changed since the commit this translation follows
    }


@router.get("/{doc_id}", response_model=DocumentOut)
async def get_document(
    doc_id: Annotated[str, doc_id_path()],
    services: ServicesDep,
    _user: Reader,
) -> dict[str, Any]:
    """The document at the commit the index reflects."""
    stored = await services.run_search(_find, services, doc_id)
    original = None
    if stored.get("translation_of"):
        original = await services.run_search(services.search.lookup, stored["translation_of"])
    return await run_in_threadpool(_read, services, stored, original)


@router.get("/{doc_id}/history", response_model=DocumentHistory, responses=listed())
async def history(
    doc_id: Annotated[str, doc_id_path()],
    services: ServicesDep,
    _user: Reader,
    chosen: PageDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """The commits that changed the document, newest first; the page is of `commits`."""
    stored = await services.run_search(_find, services, doc_id)
    commits = await run_in_threadpool(
        services.repository.log, services.settings.branch, stored["path"], HISTORY_LIMIT
    )
    return {
        "id": doc_id,
        "path": stored["path"],
        "commits": [
            {"commit": c.sha, "author": c.author, "date": c.date, "message": c.message}
            for c in paginate(commits, chosen, request, response)
        ],
    }
