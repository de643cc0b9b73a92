"""A search thread's reader of the index: its searcher over one generation, and the document sets, decoded
documents and typo table it has worked out there, all dropped together when the index moves on."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh import query as wq

from kbserver.search.query import Synonyms, build_filter
from kbserver.search.reading import PreloadedBM25F, cache_term_lookups
from kbserver.search.snippet import lower
from kbserver.search.typos import TypoTable

FACETS = {"kind": "kind", "lang": "lang", "tag": "tags"}


def open_searcher(ix: Any) -> Any:
    """A searcher whose scoring and term look-ups read from memory once read (kbserver/search/reading.py)."""
    searcher = ix.searcher(weighting=PreloadedBM25F())
    cache_term_lookups(searcher)
    return searcher


STORED_PAGES = 256  # returned documents kept decoded per search thread (see Reader.page)
Page = tuple[dict[str, Any], str, str, list[list[Any]]]  # stored fields, body, lowered body, sections


@dataclass
class Reader:
    """One thread's searcher over one index generation, and what it worked out there, until it moves on."""

    generation: Path
    index: Any
    searcher: Any
    synonyms: Synonyms
    toc: int
    typos: TypoTable
    facet_sets: dict[str, dict[str, frozenset[int]]] = field(default_factory=dict)
    filter_sets: dict[tuple[Any, ...], set[int]] = field(default_factory=dict)
    pages: OrderedDict[int, Page] = field(default_factory=OrderedDict)

    def move_to(self, toc: int) -> None:
        """A fresh searcher for the generation's newer state, and nothing kept from the old one: document
        numbers change with every update and merge. (Not Searcher.refresh(): it reuses segment readers by id
        without reloading their deletions, so deleted documents would stay visible.)"""
        stale = self.searcher
        self.searcher, self.toc = open_searcher(self.index), toc
        self.facet_sets, self.filter_sets, self.pages = {}, {}, OrderedDict()
        self.typos.refresh()
        stale.close()

    def page(self, docnum: int) -> Page:
        """A returned document's stored fields, lowered body and sections, kept for the STORED_PAGES most
        recently returned (until the searcher moves on). The same articles come back query after query
        (77% of the bench mix's results), and reading one meant decompressing and unpickling its body."""
        found = self.pages.get(docnum)
        if found is None:
            hit = self.searcher.stored_fields(docnum)
            body = hit.get("body", "")
            found = self.pages[docnum] = (hit, body, lower(body), json.loads(hit["sections"]))
            if len(self.pages) > STORED_PAGES:
                self.pages.popitem(last=False)
        else:
            self.pages.move_to_end(docnum)
        return found

    def allowed(self, filters: dict[str, list[str]]) -> set[int]:
        """The active documents that pass the filters (kept until the searcher moves on; never changed)."""
        key = tuple(sorted((name, tuple(sorted(set(values)))) for name, values in filters.items() if values))
        if key not in self.filter_sets:
            if len(self.filter_sets) > 256:
                self.filter_sets.clear()
            wanted = build_filter({name: list(values) for name, values in key})
            self.filter_sets[key] = set(
                self.searcher.docs_for_query(wanted)
            )  # Whoosh takes a set, not frozen
        return self.filter_sets[key]

    def documents_with(self, facet: str) -> dict[str, frozenset[int]]:
        """For each value of a facet field, the documents holding it (cached until the searcher moves on)."""
        if facet not in self.facet_sets:
            name = FACETS[facet]
            self.facet_sets[facet] = {
                value.decode() if isinstance(value, bytes) else value: frozenset(
                    self.searcher.docs_for_query(wq.Term(name, value))
                )
                for value in self.searcher.lexicon(name)
            }
        return self.facet_sets[facet]
