"""The operator's query language: plain words, "phrases", -exclusions and kind:/lang:/tag:/owner: filters."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from whoosh import query as wq

from kbserver.content.model import Kind
from kbserver.errors import InvalidInput
from kbserver.search.analysis import LANGS, fold, language_analyzer
from kbserver.search.schema import WEIGHTS

FILTERS = ("kind", "lang", "tag", "owner")
MAX_QUERY = 1000
_TOKEN = re.compile(r'(-?)(?:(kind|lang|tag|owner):)?(?:"([^"]*)"|(\S+))')
_ANALYZERS = {lang: language_analyzer(lang) for lang in LANGS}
FUZZY_BOOST = 0.35
SYNONYM_BOOST = 0.8
EXACT_BOOST = 8.0
COVERAGE_BOOST = 3.0  # a hit with every word scores 4x, with half of them 1.75x
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


class WordInfo(Protocol):
    """What the index knows of a word: whether it occurs, its forms within typo distance, its completions."""

    def known(self, word: str) -> bool: ...
    def typo_forms(self, word: str) -> list[str]: ...
    def completions(self, prefix: str) -> list[str]: ...


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


class QueryPlan(NamedTuple):
    """The Whoosh query, and which query word each searched term stands for (for re-ranking)."""

    query: wq.Query
    words: int
    term_word: dict[tuple[str, str], int]


def word_query(
    word: str,
    langs: tuple[str, ...],
    synonyms: Synonyms,
    info: WordInfo,
    prefix: bool,
    terms: dict[tuple[str, str], str],
) -> wq.Query | None:
    """Exact stems in every weighted field, synonyms, typo forms and the prefix form while typing.

    terms collects each searched (field, text) of the word, so hits can tell which words they matched.
    """
    alternatives: list[wq.Query] = []
    for alt in synonyms.expand(word):
        weight = 1.0 if alt == word else SYNONYM_BOOST
        parts = []
        for piece in alt.split():
            stems = dict.fromkeys(_stems(piece, langs))
            if stems:
                fields = [
                    wq.Term(f"{name}_{lang}", s, boost=w * weight)
                    for lang, s in stems
                    for name, w in WEIGHTS.items()
                ]
                terms.update({(t.fieldname, t.text): word for t in fields})
                parts.append(wq.Or(fields))
        if parts:
            alternatives.append(parts[0] if len(parts) == 1 else wq.And(parts))
    if len(word) >= 5 and not info.known(word):
        forms = info.typo_forms(word)
        terms.update({("fold", t): word for t in forms})
        alternatives += [wq.Term("fold", t, boost=FUZZY_BOOST) for t in forms]
    if prefix and len(word) >= 3:
        forms = [t for t in info.completions(word) if t != word]
        terms.update({("fold", t): word for t in forms})
        alternatives += [wq.Term("fold", t, boost=PREFIX_BOOST) for t in forms]
    if not alternatives:
        return None  # a stop word: it neither helps nor hurts
    # The best alternative counts, not their sum: an exact match outranks a synonym, a typo or a prefix.
    best = alternatives[0] if len(alternatives) == 1 else wq.DisjunctionMax(alternatives, tiebreak=0.1)
    # The word as typed (accents folded, not stemmed) earns a bonus over its stem relatives.
    terms[("fold", word)] = word
    return wq.Or([best, wq.Term("fold", word, boost=EXACT_BOOST)])


def build_query(
    parsed: ParsedQuery,
    langs: tuple[str, ...],
    synonyms: Synonyms,
    info: WordInfo,
) -> QueryPlan:
    """The Whoosh query: any of the words (re-ranked later by how many each hit has); phrases are required."""
    words: list[wq.Query] = []
    term_word: dict[tuple[str, str], int] = {}
    for n, word in enumerate(parsed.words):
        typing = parsed.typing and n == len(parsed.words) - 1
        terms: dict[tuple[str, str], str] = {}
        built = word_query(word, langs, synonyms, info, typing, terms)
        if built is not None:
            term_word.update({key: len(words) for key in terms})
            words.append(built)
    if not words and parsed.words:
        words = [wq.Term("fold", w) for w in parsed.words]  # only stop words: match them literally
        term_word = {("fold", w): n for n, w in enumerate(parsed.words)}
    required = [wq.Phrase("fold", p, boost=2.0) for p in parsed.phrases]
    query: wq.Query
    if words:
        ranked = wq.Or(words) if len(words) > 1 else words[0]
        query = wq.And([ranked, *required]) if required else ranked
    elif required:
        query = wq.And(required)
    else:
        query = wq.Every()
    if parsed.excluded:
        excluded = [wq.Term("fold", w) for w in parsed.excluded]
        excluded += [wq.Term(f"body_{lang}", s) for w in parsed.excluded for lang, s in _stems(w, langs)]
        query = wq.AndNot(query, wq.Or(excluded))
    return QueryPlan(query, len(words), term_word)


def build_filter(filters: dict[str, list[str]]) -> wq.Query:
    """Active documents matching every filter (several values of one filter mean any of them)."""
    fields = {"kind": "kind", "lang": "lang", "tag": "tags", "owner": "owner"}
    parts: list[wq.Query] = [wq.Term("status", "active")]
    for name, values in filters.items():
        if values:
            parts.append(wq.Or([wq.Term(fields[name], v) for v in values]))
    return wq.And(parts)
