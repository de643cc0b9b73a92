"""The searcher's in-memory reads (kbserver/search/reading.py) give exactly Whoosh's own scores."""

from __future__ import annotations

from pathlib import Path

from whoosh import index as whoosh_index

from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from kbserver.search import SearchIndex
from kbserver.search.analysis import LANGS
from kbserver.search.query import Synonyms, build_query, parse_query
from kbserver.search.reading import PreloadedBM25F, cache_term_lookups
from kbserver.search.typos import load_table
from kbserver.search.words import Words

QUERIES = [
    "vpn no conecta",
    "contraseña caducada",
    "impresora",
    "outlook no sincroniza",
    "wifi corporativa lenta",
    "reset password",
    "vpn lenta desconexiones",
    "bloqueo de cuenta mfa",
]


def _ranked(searcher, generation: Path, text: str) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    plan = build_query(parse_query(text), LANGS, Synonyms(""), Words(load_table(generation)))
    return [(d, round(s, 9)) for s, d in searcher.search(plan.query, limit=50).top_n]


def test_preloaded_scores_equal_whooshs_on_several_segments(
    tmp_path: Path, content_repo: ContentRepository
) -> None:
    index = SearchIndex(tmp_path / "index")
    index.catch_up(content_repo, content_repo.resolve("main"))
    # A second segment: one page changed and one added after the first build.
    page = "docs/kb/red-vpn/vpn-lenta.md"
    text = content_repo.read(content_repo.resolve("main"), page)
    assert text
    added = text.replace(b"KB-0012", b"KB-0912").replace(b"VPN lenta", b"VPN lenta en casa")
    commit = content_repo.commit_files(
        "main",
        {page: text + b"\nLa VPN lenta se nota en la wifi corporativa.\n", "docs/kb/red-vpn/otra.md": added},
        "edit",
        SERVICE_AUTHOR,
        expected_head=content_repo.head("main"),
    )
    index.catch_up(content_repo, commit)
    generation = index.generation()
    assert generation is not None
    ix = whoosh_index.open_dir(str(generation / "index"))

    plain = ix.searcher()
    fast = ix.searcher(weighting=PreloadedBM25F())
    cache_term_lookups(fast)
    segments = [segment for segment, _ in fast.reader().leaf_readers()]
    assert len(segments) > 1
    for query in QUERIES:
        expected = _ranked(plain, generation, query)
        assert expected, query  # the query finds something, so scores are compared
        assert _ranked(fast, generation, query) == expected, query
        assert _ranked(fast, generation, query) == expected, query  # again, from the kept term positions
    for segment in segments:
        assert segment.__dict__["_kb_lengths"]["text_es"] is not None  # the lengths were read into memory
        assert "ranges_for_key" in segment._terms._tindex.__dict__  # and the term look-ups kept
    plain.close()
    fast.close()
