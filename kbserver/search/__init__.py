"""Search: a Whoosh index pinned to a commit, and the searcher that reads it."""

from kbserver.search.index import CatchUp, SearchIndex
from kbserver.search.searcher import SearchService

__all__ = ["CatchUp", "SearchIndex", "SearchService"]
