"""Search and title suggestions over the index."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from kbserver.api.contract import errors
from kbserver.api.deps import Reader, RecordId, ServicesDep
from kbserver.api.models.content import SearchResults, Suggestions
from kbserver.content.model import Kind
from kbserver.search.query import MAX_QUERY

router = APIRouter(prefix="/api", tags=["search"], responses=errors(401, 422))
QueryText = Annotated[str, Query(max_length=MAX_QUERY, description='words, "phrases", -exclusions, filters')]


@router.get("/search", response_model=SearchResults)
async def search(
    services: ServicesDep,
    user: Reader,
    q: QueryText = "",
    kind: Kind | None = None,
    lang: Annotated[str | None, Query(pattern="^(es|en)$")] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    facets: Annotated[bool, Query(description="count kinds, languages and tags among the best 100")] = False,
) -> dict[str, Any]:
    """Ranked results with snippets, the commit searched, a did-you-mean suggestion and, if asked, facets."""
    filters = {
        "kind": [kind.value] if kind else [],
        "lang": [lang] if lang else [],
        "tag": [tag] if tag else [],
        "owner": [owner] if owner else [],
    }
    # Whoosh is synchronous: it runs in the threadpool, one searcher per thread.
    started = time.perf_counter()
    result = await services.run_search(services.search.search, q, filters, limit, offset, facets)
    services.metrics.search(time.perf_counter() - started, int(result["total"]))
    search_id = await services.run_write_unless_busy(
        services.search_log.record, q, filters, result["total"], user.id if user else None
    )
    return {**result, "search_id": search_id}  # a copy: the answer may be the cached one, shared


class Opened(BaseModel):
    document_id: str = Field(pattern=r"^(KB|SCR|PROC)-\d{2,}$")


@router.post("/search/{search_id}/opened", status_code=204, responses=errors(400, 403, 404, 503))
async def opened(search_id: RecordId, body: Opened, services: ServicesDep, user: Reader) -> None:
    """Say that a result of this search was opened (the content-gap report counts searches nobody used)."""
    await services.run_write(
        services.search_log.opened, search_id, body.document_id, user.id if user else None
    )


@router.get("/suggest", response_model=Suggestions)
async def suggest(services: ServicesDep, _user: Reader, q: QueryText = "") -> dict[str, Any]:
    """Title completions as the operator types."""
    return await services.run_search(services.search.suggest, q)
