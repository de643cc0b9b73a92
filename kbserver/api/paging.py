"""Pagination of every list: `limit` and `offset` in, the total and a next link in the headers out.

A list's body stays the JSON array (or object) it always was, so a client that knows nothing of pages goes
on working; only lists longer than the default limit are cut, and the Link header says where the rest is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000


@dataclass(frozen=True)
class Page:
    """The slice of a list a request asks for."""

    limit: int
    offset: int


async def page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many items")] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="skip this many items first")] = 0,
) -> Page:
    """The `limit` and `offset` query parameters."""
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(page)]


def paginate(items: Sequence[T], chosen: Page, request: Request, response: Response) -> list[T]:
    """The page of the whole list items, with X-Total-Count and, while more follow, a Link to the next."""
    window = list(items[chosen.offset : chosen.offset + chosen.limit])
    response.headers["X-Total-Count"] = str(len(items))
    if chosen.offset + chosen.limit < len(items):
        following = request.url.include_query_params(offset=chosen.offset + chosen.limit, limit=chosen.limit)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return window
