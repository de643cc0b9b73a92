"""The operator's query language: plain words, "phrases", -exclusions and kind:/lang:/tag:/owner: filters."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from whoosh import query as wq

from kbserver.content.model import Kind
from kbserver.errors import InvalidInput
from kbserver.search.analysis import LANGS, fold, language_analyzer, transpositions
from kbserver.search.schema import WEIGHTS

FILTERS = ("kind", "lang", "tag", "owner")
MAX_QUERY = 1000
_TOKEN = re.compile(r'(-?)(?:(kind|lang|tag|owner):)?(?:"([^"]*)"|(\S+))')
_ANALYZERS = {lang: language_analyzer(lang) for lang in LANGS}
FUZZY_BOOST = 0.35
SYNONYM_BOOST = 0.8
EXACT_BOOST = 8.0
ALL_WORDS_BOOST = 3.0
PREFIX_BOOST = 0.5


@dataclass
class ParsedQuery:
    words: list[str] = field(default_factory=list)
    phrases: list[list[str]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    typing: bool = False  # the last word may be unfinished: match it as a prefix too

    @property
    def empty(self) -> bool:
        """Nothing to search for (filters alone list documents)."""
        return not (self.words or self.phrases)


def _clean(text: str) -> str:
    # Control and format characters (NUL, zero-width ...) become spaces; they never reach Whoosh.
    return "".join(" " if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def parse_query(text: str) -> ParsedQuery:
    """Parse the query text; malformed input is read as plain words, never as an error."""
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"the query is {len(text)} characters long; the limit is {MAX_QUERY}")
    text = _clean(text)
    if text.count('"') % 2:
        text = text[::-1].replace('"', " ", 1)[::-1]  # an unbalanced quote is ignored
    parsed = ParsedQuery(typing=bool(text) and not text.endswith((" ", '"')))
    for negate, name, quoted, bare in _TOKEN.findall(text):
        value = quoted if quoted else bare
        if name:
            parsed.filters.setdefault(name, []).append(value.strip().lower())
            continue
        words = fold(value)
        if not words:
            continue
        if negate:
            parsed.excluded.extend(words)
        elif quoted and len(words) > 1:
            parsed.phrases.append(words)
        else:
            parsed.words.extend(words)
    if parsed.phrases or not parsed.words:
        parsed.typing = False
    for kind in parsed.filters.get("kind", []):
        if kind not in {k.value for k in Kind}:
            raise InvalidInput(f"unknown kind {kind!r}; use article, script or procedure")
    for lang in parsed.filters.get("lang", []):
        if lang not in LANGS:
            raise InvalidInput(f"unknown lang {lang!r}; use es or en")
    return parsed


class Synonyms:
    """Groups of interchangeable words from synonyms.txt (one group per line, comma-separated)."""

    def __init__(self, text: str = "") -> None:
        self.groups: dict[str, list[str]] = {}
        for line in text.splitlines():
            line = line.split("#", 1)[0]
            group = list(dict.fromkeys(" ".join(fold(w)) for w in line.split(",") if fold(w)))
            for word in group:
                self.groups[word] = group

    def expand(self, word: str) -> list[str]:
        """The word and its synonyms."""
        return self.groups.get(word, [word])


def _stems(word: str, langs: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(lang, t.text) for lang in langs for t in _ANALYZERS[lang](word)]


def word_query(  # type: ignore[no-untyped-def]
    word: str, langs: tuple[str, ...], synonyms: Synonyms, is_known, prefix: bool
) -> wq.Query | None:
    """Exact stems in every weighted field, a typo-tolerant form, and the prefix form while typing."""
    alternatives: list[wq.Query] = []
    for alt in synonyms.expand(word):
        weight = 1.0 if alt == word else SYNONYM_BOOST
        parts = []
        for piece in alt.split():
            stems = _stems(piece, langs)
            if stems:
                fields = [
                    wq.Term(f"{name}_{lang}", s, boost=w * weight)
                    for lang, s in dict.fromkeys(stems)
                    for name, w in WEIGHTS.items()
                ]
                parts.append(wq.Or(fields))
        if parts:
            alternatives.append(parts[0] if len(parts) == 1 else wq.And(parts))
    if len(word) >= 5 and not is_known(word):
        distance = 2 if len(word) >= 9 else 1
        alternatives.append(wq.FuzzyTerm("fold", word, boost=FUZZY_BOOST, maxdist=distance, prefixlength=1))
        # Levenshtein counts a swap of two letters as 2 edits; swapped forms are looked up directly.
        alternatives += [wq.Term("fold", t, boost=FUZZY_BOOST) for t in transpositions(word) if is_known(t)]
    if prefix and len(word) >= 3:
        alternatives.append(wq.Prefix("fold", word, boost=PREFIX_BOOST))
    if not alternatives:
        return None  # a stop word: it neither helps nor hurts
    # The best alternative counts, not their sum: an exact match outranks a synonym, a typo or a prefix.
    best = alternatives[0] if len(alternatives) == 1 else wq.DisjunctionMax(alternatives, tiebreak=0.1)
    # The word as typed (accents folded, not stemmed) earns a bonus over its stem relatives.
    return wq.Or([best, wq.Term("fold", word, boost=EXACT_BOOST)])


def build_query(parsed: ParsedQuery, langs: tuple[str, ...], synonyms: Synonyms, is_known) -> wq.Query:  # type: ignore[no-untyped-def]
    """The Whoosh query: documents matching more of the words rank higher; phrases are required."""
    words = []
    for n, word in enumerate(parsed.words):
        last = n == len(parsed.words) - 1
        built = word_query(word, langs, synonyms, is_known, prefix=parsed.typing and last)
        if built is not None:
            words.append(built)
    if not words and parsed.words:
        words = [wq.Term("fold", w) for w in parsed.words]  # only stop words: match them literally
    required = [wq.Phrase("fold", p, boost=2.0) for p in parsed.phrases]
    query: wq.Query
    if words:
        # Documents with every word get the "all words" tier on top of their own score, so they come first.
        ranked = wq.Or([wq.And(words, boost=ALL_WORDS_BOOST), wq.Or(words)]) if len(words) > 1 else words[0]
        query = wq.And([ranked, *required]) if required else ranked
    elif required:
        query = wq.And(required)
    else:
        query = wq.Every()
    if parsed.excluded:
        excluded = [wq.Term("fold", w) for w in parsed.excluded]
        excluded += [wq.Term(f"body_{lang}", s) for w in parsed.excluded for lang, s in _stems(w, langs)]
        query = wq.AndNot(query, wq.Or(excluded))
    return query


def build_filter(filters: dict[str, list[str]]) -> wq.Query:
    """Active documents matching every filter (several values of one filter mean any of them)."""
    fields = {"kind": "kind", "lang": "lang", "tag": "tags", "owner": "owner"}
    parts: list[wq.Query] = [wq.Term("status", "active")]
    for name, values in filters.items():
        if values:
            parts.append(wq.Or([wq.Term(fields[name], v) for v in values]))
    return wq.And(parts)
