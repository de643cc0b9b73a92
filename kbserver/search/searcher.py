"""Searching the index: one searcher per thread, refreshed per request and reopened after any error."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from whoosh import index as whoosh_index
from whoosh import query as wq

from kbserver.errors import RepositoryError
from kbserver.search.analysis import LANGS
from kbserver.search.index import META_PATH, SearchIndex
from kbserver.search.query import ParsedQuery, Synonyms, build_filter, build_query, parse_query, stems
from kbserver.search.reader import FACETS, Page, Reader, open_searcher
from kbserver.search.snippet import best_section, make_snippet, with_phrases, word_pattern
from kbserver.search.typos import load_table
from kbserver.search.words import Words, query_langs, stemmed_in

MAX_LIMIT = 100
FACET_WINDOW = 100  # facets count the kinds, languages and tags of this many best hits
PHRASE_SCAN = 400  # hits with all of a phrase's words whose text is checked for the phrase itself
CACHE_SIZE = 1024  # answers kept per index state: a desk types the same prefixes all day
T = TypeVar("T")


@dataclass
class _Briefs:
    """Document briefs read from one state of the index (generation and TOC), shared by all threads."""

    generation: Path
    index: Any
    toc: int
    entries: dict[str, dict[str, Any] | None] = field(default_factory=dict)


def _brief_key(doc_id: str | None, page: str | None) -> str:
    return f"id:{doc_id}" if doc_id else "url:/" + (page or "").strip("/") + "/"


class SearchService:
    """Answers searches, suggestions and id look-ups from the current index generation."""

    def __init__(self, index: SearchIndex, cache_size: int = CACHE_SIZE) -> None:
        self.index = index
        self.cache_size = cache_size
        self._local = threading.local()
        self._open_readers: list[Reader] = []  # every thread's reader, so close() can release them
        self._briefs: _Briefs | None = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()

    def close(self) -> None:
        """Close every thread's searcher (their files stay open until then)."""
        with self._lock:
            for reader in self._open_readers:
                reader.searcher.close()
            self._open_readers.clear()
        self._local = threading.local()

    def __enter__(self) -> SearchService:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _open(self) -> Reader:
        generation = self.index.generation()
        if generation is None:
            raise RepositoryError("the search index is not built yet; run `kb index`")
        reader: Reader | None = getattr(self._local, "reader", None)
        if reader is not None and reader.generation == generation:
            latest = reader.index.latest_generation()
            if latest != reader.toc:
                reader.move_to(latest)  # a fresh searcher is cheap, and the old one is ours
            return reader
        if reader is not None:
            reader.searcher.close()
            with self._lock:
                self._open_readers.remove(reader)
        ix = whoosh_index.open_dir(str(generation / "index"))
        synonyms_file = generation / "synonyms.txt"
        synonyms = Synonyms(synonyms_file.read_text() if synonyms_file.is_file() else "")
        reader = Reader(
            generation, ix, open_searcher(ix), synonyms, ix.latest_generation(), load_table(generation)
        )
        self._local.reader = reader
        with self._lock:
            self._open_readers.append(reader)
        return reader

    def _with_searcher(self, work: Callable[[Reader], T]) -> T:
        try:
            return work(self._open())
        except RepositoryError:
            raise
        except Exception:
            # A refresh racing a merge can leave closed segment readers behind: reopen once and retry.
            stale = getattr(self._local, "reader", None)
            if stale is not None:
                with self._lock:
                    if stale in self._open_readers:
                        self._open_readers.remove(stale)
                stale.searcher.close()
            self._local.reader = None
            return work(self._open())

    def search(
        self,
        text: str,
        filters: dict[str, list[str]] | None = None,
        limit: int = 10,
        offset: int = 0,
        facets: bool = False,
    ) -> dict[str, Any]:
        """Ranked results with snippets, the commit searched, a did-you-mean suggestion and, when asked,
        facets: the kinds, languages and tags among the best FACET_WINDOW hits."""
        parsed = parse_query(text)
        for name, values in (filters or {}).items():
            parsed.filters.setdefault(name, []).extend(v.lower() for v in values if v)
        parse_query(" ".join(f"{k}:{v}" for k, vs in parsed.filters.items() for v in vs))  # validates values
        langs = tuple(parsed.filters.get("lang") or LANGS)
        limit = max(1, min(limit, MAX_LIMIT))
        offset = max(0, offset)

        def work(reader: Reader) -> dict[str, Any]:
            key = (
                reader.generation,
                reader.toc,
                text,
                tuple(sorted((k, tuple(v)) for k, v in parsed.filters.items())),
                limit,
                offset,
                facets,
            )
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    return cached
            answer = self._search(reader, text, parsed, langs, limit, offset, facets)
            with self._lock:
                self._cache[key] = answer
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return answer

        return self._with_searcher(work)

    def _search(
        self,
        reader: Reader,
        text: str,
        parsed: ParsedQuery,
        langs: tuple[str, ...],
        limit: int,
        offset: int,
        facets: bool,
    ) -> dict[str, Any]:
        searcher = reader.searcher
        words = Words(reader.typos)
        if not parsed.filters.get("lang"):
            sizes = {lang: len(docs) for lang, docs in reader.documents_with("lang").items()}
            langs = query_langs(searcher, sizes, parsed.words + [w for p in parsed.phrases for w in p])
        plan = build_query(parsed, langs, reader.synonyms, words)
        # The fewer hits are collected, the more of the matches Whoosh can skip unscored.
        window = max(offset + limit, FACET_WINDOW) if facets else offset + limit
        scan = max(window, PHRASE_SCAN) if parsed.phrases else window
        allowed = reader.allowed(parsed.filters)
        # An empty set must not reach Whoosh: it reads a falsy filter as no filter at all.
        found = searcher.search(plan.query if allowed else wq.NullQuery, filter=allowed or None, limit=scan)
        hits = found.top_n
        # No second pass over every match: the total is exact when it fits the window, an estimate beyond.
        exact = len(hits) < scan
        estimate = min(plan.query.estimate_size(searcher.reader()), searcher.doc_count())
        if parsed.phrases:
            hits, checked = with_phrases(searcher, parsed.phrases, hits, window)
            estimate = round(estimate * len(hits) / max(checked, 1))  # the share of checked hits that held it
        total = len(hits) if exact else max(len(hits), estimate)
        typos = {w: forms for w, forms in plan.typos.items() if forms and not stemmed_in(searcher, w, langs)}
        prefixes = {stem for w in parsed.words for _, stem in stems(w, langs)}
        exact_words = (
            set(parsed.words) | {f for forms in typos.values() for f in forms} | set(plan.completions)
        )
        matches = word_pattern(exact_words, prefixes)
        suggestion = " ".join(typos[w][0] if w in typos else w for w in parsed.words) if typos else None
        matched = frozenset(d for _, d in hits)
        return {
            "query": text,
            "total": total,
            "total_exact": exact,
            "commit": self._commit(searcher),
            "suggestion": suggestion if suggestion != " ".join(parsed.words) else None,
            "results": [self._result(reader.page(d), s, matches) for s, d in hits[offset : offset + limit]],
            "facets": {
                name: {
                    v: n
                    for v, docs in sorted(reader.documents_with(name).items())
                    if (n := len(docs & matched))
                }
                for name in (FACETS if facets else ())
            },
        }

    def suggest(self, text: str, limit: int = 8) -> dict[str, Any]:
        """Title completions for what the operator has typed so far."""
        words = parse_query(text).words
        if not words:
            return {"query": text, "suggestions": []}

        def work(reader: Reader) -> dict[str, Any]:
            parts: list[wq.Query] = [wq.Term("title_fold", w) for w in words[:-1]]
            last = words[-1]
            parts.append(wq.Or([wq.Term("title_fold", last), wq.Prefix("title_fold", last)]))
            hits = reader.searcher.search(wq.And(parts), filter=build_filter({}), limit=limit)
            return {
                "query": text,
                "commit": self._commit(reader.searcher),
                "suggestions": [
                    {
                        "id": h["id"],
                        "title": h["title"],
                        "kind": h["kind"],
                        "lang": h["lang"],
                        "url": h["url"],
                    }
                    for h in hits
                ],
            }

        return self._with_searcher(work)

    def lookup(self, doc_id: str) -> dict[str, Any] | None:
        """The stored fields of the document with this id, and the commit of the index."""

        def work(reader: Reader) -> dict[str, Any] | None:
            stored = reader.searcher.document(id=doc_id)
            if stored is None:
                return None
            translations = [
                {"id": d["id"], "lang": d["lang"], "title": d["title"], "url": d["url"]}
                for d in reader.searcher.documents(translation_of=doc_id)
            ]
            return {**stored, "index_commit": self._commit(reader.searcher), "translations": translations}

        return self._with_searcher(work)

    def lookup_page(self, url: str) -> dict[str, Any] | None:
        """The stored fields of the document served at a site path such as /kb/red-vpn/vpn-lenta/."""
        path = "/" + url.strip("/") + "/"

        def work(reader: Reader) -> dict[str, Any] | None:
            stored = reader.searcher.document(url=path)
            return {**stored, "index_commit": self._commit(reader.searcher)} if stored else None

        return self._with_searcher(work)

    def brief(self, doc_id: str | None = None, page: str | None = None) -> dict[str, Any] | None:
        """A document's id, path, kind, owner and last-changed commit, by id or site path (None if there is
        no such document). Kept until the index changes, for every thread and for `cached_brief`."""
        key = _brief_key(doc_id, page)
        fields = ("id", "path", "kind", "owner", "changed", "url")

        def work(reader: Reader) -> dict[str, Any] | None:
            shared = self._briefs
            if shared is None or (shared.generation, shared.toc) != (reader.generation, reader.toc):
                shared = self._briefs = _Briefs(reader.generation, reader.index, reader.toc)
            if key not in shared.entries:
                name, _, value = key.partition(":")
                stored = reader.searcher.document(**{name: value})
                shared.entries[key] = (
                    {**{f: stored.get(f) for f in fields}, "index_commit": self._commit(reader.searcher)}
                    if stored
                    else None
                )
            return shared.entries[key]

        return self._with_searcher(work)

    def cached_brief(
        self, doc_id: str | None = None, page: str | None = None
    ) -> tuple[bool, dict[str, Any] | None]:
        """(True, brief) when `brief` has looked the document up since the index last changed, else
        (False, None). It reads no index data, only a symlink and the index folder's listing, so it may run
        on the event loop: feedback then needs no hand-over to a search thread."""
        shared = self._briefs
        key = _brief_key(doc_id, page)
        if shared is None or key not in shared.entries:
            return False, None
        if self.index.generation() != shared.generation or shared.index.latest_generation() != shared.toc:
            return False, None
        return True, shared.entries[key]

    def document_frequencies(self, lang: str, words: Collection[str]) -> tuple[int, dict[str, int]]:
        """How many documents are in lang, and how many of them hold each stem (to weigh words by rarity)."""

        def work(reader: Reader) -> tuple[int, dict[str, int]]:
            searcher = reader.searcher
            found = {w: searcher.doc_frequency(f"text_{lang}", w) for w in words}
            return searcher.doc_frequency("lang", lang), found

        return self._with_searcher(work)

    def synonyms(self) -> Synonyms:
        """The synonym groups of the index being read."""
        return self._with_searcher(lambda reader: reader.synonyms)

    def commit(self) -> str | None:
        """The commit the index reflects, as readers see it."""
        return self._with_searcher(lambda reader: self._commit(reader.searcher))

    @staticmethod
    def _commit(searcher: Any) -> str | None:
        # Read once per searcher: a searcher's view of the index never changes.
        if "_kb_commit" not in searcher.__dict__:
            meta = searcher.document(path=META_PATH)
            searcher._kb_commit = meta["commit"] if meta else None
        commit: str | None = searcher._kb_commit
        return commit

    @staticmethod
    def _result(page: Page, score: float, matches: re.Pattern[str]) -> dict[str, Any]:
        hit, body, lowered, sections = page
        lang = hit["lang"]
        anchor, start, end = best_section(sections, lowered, matches)
        return {
            "id": hit["id"],
            "kind": hit["kind"],
            "title": hit["title"],
            "url": hit["url"],
            "anchor": anchor,
            "snippet": make_snippet(body, lowered, matches, start, end),
            "score": round(float(score), 4),
            "lang": lang,
            "tags": [t for t in hit["tags"].split(",") if t],
            "updated": hit["updated"] or None,
        }
