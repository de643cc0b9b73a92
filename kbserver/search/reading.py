"""Faster reads from a Whoosh searcher, with the same answers: the scoring and the term look-ups that a
profile of the search workers showed reading the disk file a few bytes at a time.

- BM25F needs each scored document's field length. Whoosh reads it from the segment's length column, one seek
  and one read per posting scored (14% of a search). `PreloadedBM25F` reads each segment's column once, when a
  query first scores that field, and looks lengths up in memory after that.
- Every word of a query is looked up in the terms file several times: for its document frequency (the idf, the
  total's estimate, the query's language), for its term info (the scorer's bounds) and for its postings. Each
  look-up hashes the key and seeks. `cache_term_lookups` keeps the positions found, per segment, for the life
  of the searcher (a searcher never sees its segment change).

This leans on two internals of whoosh-reloaded 2.7.5 (a segment's `_terms._tindex` and `_perdoc`); if a
version lacks them, searching works as before, only slower (tests/search/test_reading.py checks both paths
give the same scores).
"""

from __future__ import annotations

import functools
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.scoring import BM25F, BM25FScorer
from whoosh.util.numeric import byte_to_length

TERM_CACHE = 50_000  # term positions kept per segment: far more than a desk's daily vocabulary of queries
_LENGTHS = [1] + [byte_to_length(b) for b in range(1, 256)]  # 0 is "no length": that document never scores


def _lengths(segment: Any, fieldname: str) -> list[int] | None:
    """The field's length of every document of one segment, read once and kept on the segment reader."""
    kept: dict[str, list[int] | None] = segment.__dict__.setdefault("_kb_lengths", {})
    if fieldname not in kept:
        perdoc = getattr(segment, "_perdoc", None)
        column = f"_{fieldname}_len"
        if perdoc is None or not perdoc.has_column(column):
            kept[fieldname] = None
        else:
            kept[fieldname] = [
                _LENGTHS[b] for b in _length_bytes(perdoc.column_reader(column, LENGTHS_COLUMN))
            ]
    return kept[fieldname]


def _length_bytes(column: Any) -> bytes:
    """A length column's bytes (one per document) in one read; item by item where the layout is unknown."""
    try:
        stored = column._dbfile.get(column._basepos, column._count)  # one byte per document, then defaults
        return bytes(stored) + bytes(column._doccount - column._count)
    except AttributeError:
        return bytes(column.load())


class PreloadedBM25F(BM25F):  # type: ignore[misc]
    """Whoosh's BM25F, with field lengths read from memory (same parameters, same scores)."""

    def scorer(self, searcher: Any, fieldname: str, text: bytes, qf: int = 1) -> Any:
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if isinstance(scorer, BM25FScorer) and hasattr(scorer, "dfl"):
            lengths = _lengths(searcher.reader(), fieldname)
            if lengths is not None:
                scorer.dfl = lengths.__getitem__
        return scorer


def cache_term_lookups(searcher: Any) -> None:
    """Keep each segment's term positions in memory for the life of this searcher."""
    for segment, _offset in searcher.reader().leaf_readers():
        tindex = getattr(getattr(segment, "_terms", None), "_tindex", None)
        if tindex is None or "ranges_for_key" in tindex.__dict__:
            continue
        find = tindex.ranges_for_key  # the class's generator, bound to this file

        @functools.lru_cache(maxsize=TERM_CACHE)
        def ranges_for_key(key: bytes, find: Any = find) -> tuple[tuple[int, int], ...]:
            return tuple(find(key))

        tindex.ranges_for_key = ranges_for_key
