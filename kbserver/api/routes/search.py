"""Search and title suggestions over the index."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from kbserver.api.deps import Reader, ServicesDep
from kbserver.content.model import Kind
from kbserver.search.query import MAX_QUERY

router = APIRouter(prefix="/api", tags=["search"])
QueryText = Annotated[str, Query(max_length=MAX_QUERY, description='words, "phrases", -exclusions, filters')]


@router.get("/search")
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
) -> dict[str, Any]:
    """Ranked results with snippets, facets, the commit searched and a did-you-mean suggestion."""
    filters = {
        "kind": [kind.value] if kind else [],
        "lang": [lang] if lang else [],
        "tag": [tag] if tag else [],
        "owner": [owner] if owner else [],
    }
    # Whoosh is synchronous: it runs in the threadpool, one searcher per thread.
    result = await services.run_search(services.search.search, q, filters, limit, offset)
    await run_in_threadpool(
        services.search_log.record, q, filters, result["total"], user.id if user else None
    )
    return result


@router.get("/suggest")
async def suggest(services: ServicesDep, _user: Reader, q: QueryText = "") -> dict[str, Any]:
    """Title completions as the operator types."""
    return await services.run_search(services.search.suggest, q)
