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

FILTERS = ("kind", "lang", "tag", "owner")
MAX_QUERY = 1000
_TOKEN = re.compile(r'(-?)(?:(kind|lang|tag|owner):)?(?:"([^"]*)"|(\S+))')
_ANALYZERS = {lang: language_analyzer(lang) for lang in LANGS}
# Ranking (see the README's search section): BM25F over one all-text field per language in which the title
# counts as if written twice (schema.TITLE_REPEAT), plus the title on its own; a matching title dominates.
TITLE_BOOST = 1.0
SYNONYM_BOOST = 0.8
TYPO_BOOST = 0.5  # a corrected word counts half, a third for two edits ...
FIRST_LETTER_TYPO = 0.6  # ... and less again when the first letter differs (few typists miss it)
PREFIX_BOOST = 0.5
MAX_TYPOS = 3  # forms of a misspelt word that are searched, the nearest and most frequent first
MAX_COMPLETIONS = 5  # completions of an unfinished last word, the most frequent first


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
    def typo_forms(self, word: str) -> list[tuple[float, str]]: ...
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


def stems(word: str, langs: tuple[str, ...]) -> list[tuple[str, str]]:
    """(language, stem) of the word in each language, without repeats."""
    return list(dict.fromkeys((lang, t.text) for lang in langs for t in _ANALYZERS[lang](word)))


def any_of(queries: list[wq.Query]) -> wq.Query:
    """Or, as a tree of union matchers that skip blocks that cannot reach the top (never preloaded arrays)."""
    if len(queries) == 1:
        return queries[0]
    union = wq.Or(queries)
    union.matcher_type = wq.Or.DEFAULT_MATCHER
    return union


class QueryPlan(NamedTuple):
    """The Whoosh query, and the indexed forms that stand in for misspelt or unfinished words."""

    query: wq.Query
    typos: dict[str, list[str]]  # a misspelt word: its corrections, the likeliest first
    completions: list[str]


def _fields(word: str, langs: tuple[str, ...], weight: float) -> list[wq.Query]:
    """The word's stem in each language's all-text and title fields."""
    return [
        term
        for lang, stem in stems(word, langs)
        for term in (
            wq.Term(f"text_{lang}", stem, boost=weight),
            wq.Term(f"title_{lang}", stem, boost=weight * TITLE_BOOST),
        )
    ]


def word_query(
    word: str, langs: tuple[str, ...], synonyms: Synonyms, info: WordInfo, typing: bool, plan: QueryPlan
) -> wq.Query | None:
    """The word, its synonyms, and when it is not in the content, its typo corrections and completions."""
    alternatives: list[wq.Query] = []
    for alt in synonyms.expand(word):
        weight = 1.0 if alt == word else SYNONYM_BOOST
        parts = [any_of(fields) for piece in alt.split() if (fields := _fields(piece, langs, weight))]
        if parts:
            alternatives.append(parts[0] if len(parts) == 1 else wq.And(parts))
    if not info.known(word):
        forms = info.typo_forms(word)
        plan.typos[word] = [form for _, form in forms]
        for weight, form in forms:
            alternatives += _fields(form, langs, weight)
        if typing:
            for form in info.completions(word):
                plan.completions.append(form)
                alternatives += _fields(form, langs, PREFIX_BOOST)
    if not alternatives:
        return None  # a stop word: it neither helps nor hurts
    return any_of(alternatives)


def build_query(
    parsed: ParsedQuery,
    langs: tuple[str, ...],
    synonyms: Synonyms,
    info: WordInfo,
) -> QueryPlan:
    """Any of the words, scored by BM25F; phrases are required; exclusions remove documents."""
    plan = QueryPlan(wq.NullQuery, {}, [])
    words: list[wq.Query] = []
    for n, word in enumerate(dict.fromkeys(parsed.words)):
        typing = parsed.typing and n == len(parsed.words) - 1 and word == parsed.words[-1]
        built = word_query(word, langs, synonyms, info, typing, plan)
        if built is not None:
            words.append(built)
    # A phrase's words (but stop words) are required here; that they stand together is checked on the text.
    required: list[wq.Query] = [
        wq.And(words_of_phrase, boost=2.0)
        for p in parsed.phrases
        if (words_of_phrase := [any_of(f) for w in p if (f := _fields(w, langs, 1.0))])
    ]
    query: wq.Query
    if words:
        ranked = any_of(words)
        query = wq.And([ranked, *required]) if required else ranked
    elif required:
        query = wq.And(required)
    elif parsed.words or parsed.phrases:
        query = wq.NullQuery  # only stop words: nothing to rank by
    else:
        query = wq.Every()
    if parsed.excluded:
        excluded = [wq.Term(f"text_{lang}", s) for w in parsed.excluded for lang, s in stems(w, langs)]
        query = wq.AndNot(query, wq.Or(excluded))
    return plan._replace(query=query)


def build_filter(filters: dict[str, list[str]]) -> wq.Query:
    """Active documents matching every filter (several values of one filter mean any of them)."""
    fields = {"kind": "kind", "lang": "lang", "tag": "tags", "owner": "owner"}
    parts: list[wq.Query] = [wq.Term("status", "active")]
    for name, values in filters.items():
        if values:
            parts.append(wq.Or([wq.Term(fields[name], v) for v in values]))
    return wq.And(parts)
