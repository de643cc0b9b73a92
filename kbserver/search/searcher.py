"""Searching the index: one searcher per thread, refreshed per request and reopened after any error."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from whoosh import highlight, sorting
from whoosh import index as whoosh_index
from whoosh import query as wq

from kbserver.errors import RepositoryError
from kbserver.search.analysis import LANGS, edit_distance, folding_analyzer, language_analyzer
from kbserver.search.index import META_PATH, SearchIndex
from kbserver.search.query import Synonyms, build_filter, build_query, parse_query

MAX_LIMIT = 100
T = TypeVar("T")


class _MarkFormatter(highlight.HtmlFormatter):  # type: ignore[misc]
    """Matched terms in a bare <mark>; the text around them is HTML-escaped by Whoosh."""

    template = "<%(tag)s>%(t)s</%(tag)s>"


_FORMATTER = _MarkFormatter(tagname="mark", between=" … ")
_FRAGMENTER = highlight.ContextFragmenter(maxchars=220, surround=60)


@dataclass
class _Reader:
    generation: Path
    index: Any
    searcher: Any
    synonyms: Synonyms


class SearchService:
    """Answers searches, suggestions and id look-ups from the current index generation."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self._local = threading.local()

    def _open(self) -> _Reader:
        generation = self.index.generation()
        if generation is None:
            raise RepositoryError("the search index is not built yet; run `kb index`")
        reader: _Reader | None = getattr(self._local, "reader", None)
        if reader is not None and reader.generation == generation:
            if not reader.searcher.up_to_date():
                reader.searcher = reader.searcher.refresh()
            return reader
        if reader is not None:
            reader.searcher.close()
        ix = whoosh_index.open_dir(str(generation / "index"))
        synonyms_file = generation / "synonyms.txt"
        synonyms = Synonyms(synonyms_file.read_text() if synonyms_file.is_file() else "")
        reader = _Reader(generation, ix, ix.searcher(), synonyms)
        self._local.reader = reader
        return reader

    def _with_searcher(self, work: Callable[[_Reader], T]) -> T:
        try:
            return work(self._open())
        except RepositoryError:
            raise
        except Exception:
            # A refresh racing a merge can leave closed segment readers behind: reopen once and retry.
            self._local.reader = None
            return work(self._open())

    def search(
        self, text: str, filters: dict[str, list[str]] | None = None, limit: int = 10, offset: int = 0
    ) -> dict[str, Any]:
        """Ranked results with snippets, facets, the commit searched and a did-you-mean suggestion."""
        parsed = parse_query(text)
        for name, values in (filters or {}).items():
            parsed.filters.setdefault(name, []).extend(v.lower() for v in values if v)
        parse_query(" ".join(f"{k}:{v}" for k, vs in parsed.filters.items() for v in vs))  # validates values
        langs = tuple(parsed.filters.get("lang") or LANGS)
        limit = max(1, min(limit, MAX_LIMIT))

        def work(reader: _Reader) -> dict[str, Any]:
            searcher = reader.searcher
            known = lambda w: searcher.doc_frequency("fold", w) > 0  # noqa: E731
            query = build_query(parsed, langs, reader.synonyms, known)
            facets = {
                "kind": sorting.FieldFacet("kind", maptype=sorting.Count),
                "lang": sorting.FieldFacet("lang", maptype=sorting.Count),
                "tag": sorting.FieldFacet("tags", allow_overlap=True, maptype=sorting.Count),
            }
            found = searcher.search(
                query, filter=build_filter(parsed.filters), limit=offset + limit, terms=True, groupedby=facets
            )
            results = [self._result(hit, parsed.words) for hit in found[offset : offset + limit]]
            return {
                "query": text,
                "total": len(found),
                "commit": self._commit(searcher),
                "suggestion": self._suggestion(searcher, parsed.words, text),
                "results": results,
                "facets": {name: dict(sorted(found.groups(name).items())) for name in facets},
            }

        return self._with_searcher(work)

    def suggest(self, text: str, limit: int = 8) -> dict[str, Any]:
        """Title completions for what the operator has typed so far."""
        words = parse_query(text).words
        if not words:
            return {"query": text, "suggestions": []}

        def work(reader: _Reader) -> dict[str, Any]:
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

        def work(reader: _Reader) -> dict[str, Any] | None:
            stored = reader.searcher.document(id=doc_id)
            if stored is None:
                return None
            translations = [
                {"id": d["id"], "lang": d["lang"], "title": d["title"], "url": d["url"]}
                for d in reader.searcher.documents(translation_of=doc_id)
            ]
            return {**stored, "index_commit": self._commit(reader.searcher), "translations": translations}

        return self._with_searcher(work)

    def commit(self) -> str | None:
        """The commit the index reflects, as readers see it."""
        return self._with_searcher(lambda reader: self._commit(reader.searcher))

    @staticmethod
    def _commit(searcher: Any) -> str | None:
        meta = searcher.document(path=META_PATH)
        return meta["commit"] if meta else None

    def _result(self, hit: Any, words: list[str]) -> dict[str, Any]:
        lang = hit["lang"]
        body = hit.get(f"body_{lang}", "")
        analyzer = language_analyzer(lang)
        stems = {t for f, t in hit.matched_terms() if isinstance(t, bytes) and f != "fold"}
        terms = {t.decode() for t in stems} | {t.text for w in words for t in analyzer(w)}
        anchor, start, end = self._best_section(hit, body, terms, analyzer)
        region = body[start:end] or body
        snippet = highlight.highlight(region, terms, analyzer, _FRAGMENTER, _FORMATTER, top=2)
        if not snippet:
            folded = {w for w in words} | {t.decode() for f, t in hit.matched_terms() if f == "fold"}
            snippet = highlight.highlight(region, folded, folding_analyzer(), _FRAGMENTER, _FORMATTER, top=2)
        if not snippet:
            snippet = highlight.htmlescape(region[:200])
        return {
            "id": hit["id"],
            "kind": hit["kind"],
            "title": hit["title"],
            "url": hit["url"],
            "anchor": anchor,
            "snippet": snippet,
            "score": round(float(hit.score), 4),
            "lang": lang,
            "tags": [t for t in hit["tags"].split(",") if t],
            "updated": hit["updated"] or None,
        }

    @staticmethod
    def _best_section(hit: Any, body: str, terms: set[str], analyzer: Any) -> tuple[str | None, int, int]:
        best: tuple[float, str | None, int, int] = (0.0, None, 0, 0)
        for anchor, title, start, end in json.loads(hit["sections"]):
            score = 3 * sum(t.text in terms for t in analyzer(title))
            score += sum(t.text in terms for t in analyzer(body[start:end]))
            if score > best[0]:
                best = (score, anchor, start, end)
        return best[1], best[2], best[3]

    @staticmethod
    def _suggestion(searcher: Any, words: list[str], text: str) -> str | None:
        corrected, changed = [], False
        for word in words:
            stems = [(f"body_{lang}", t.text) for lang in LANGS for t in language_analyzer(lang)(word)]
            if (
                len(word) < 4
                or searcher.doc_frequency("fold", word)
                or any(searcher.doc_frequency(*s) for s in stems)
            ):
                corrected.append(word)  # a word the content uses, in some form: not a typo
                continue
            distance = 2 if len(word) >= 8 else 1
            candidates = searcher.reader().terms_within("fold", word, distance, prefix=1)
            best = min(
                candidates,
                key=lambda c: (edit_distance(word, c), -searcher.doc_frequency("fold", c)),
                default=None,
            )
            corrected.append(best or word)
            changed = changed or best is not None
        return " ".join(corrected) if changed else None
