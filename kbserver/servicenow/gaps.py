"""Knowledge gaps from tickets: resolved incidents that no article served, searched by their description,
and those the search answers weakly, grouped into clusters of similar descriptions.

An incident is unlinked when it has no Attached Knowledge in ServiceNow and no operator linked a document to
it here. Its short description is searched as an operator would search it. The best hit is weak when it
holds less than the coverage threshold of the description's words, each weighed by its rarity in the
knowledge base (BM25's idf in the hit's language): a hit that shares only "no", "error" and "abrir" with
"error al abrir Excel con macros" holds little of what the ticket asked. Synonyms count as the word.
BM25 scores themselves are not used as the test: they grow with the query's length and the size of the
knowledge base, so no one threshold would mean the same on two desks. The score is reported all the same.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from kbserver.search.analysis import fold
from kbserver.search.query import MAX_QUERY
from kbserver.search.searcher import SearchService
from kbserver.servicenow.clusters import Words, cluster, common_words, jaccard, synonym_stems, words_of
from kbserver.store.schema import feedback, servicenow_attachments, servicenow_incidents, servicenow_state

Range = tuple[datetime | None, datetime | None]
PROPOSED = "gap:"  # servicenow_state key prefix: the change request a ticket's gap was proposed in
CLOSED_STATES = ("rejected", "withdrawn")  # a proposal in these no longer counts
_JUDGED: dict[tuple[str | None, str], Hit | None] = {}  # (index commit, description) -> its best hit
_MAX_JUDGED = 50_000


@dataclass(frozen=True)
class GapRules:
    """When a hit is weak, when two descriptions are alike, and how many examples a cluster shows."""

    coverage: float = 0.5
    similarity: float = 0.4
    examples: int = 5


@dataclass(frozen=True)
class Incident:
    number: str
    description: str
    resolved_at: datetime


@dataclass(frozen=True)
class Hit:
    """The best hit of a description: the document, its score and the share of the words it holds."""

    doc_id: str
    title: str
    url: str
    category: str
    score: float
    coverage: float

    def as_json(self) -> dict[str, Any]:
        """The hit as the report shows it."""
        return {"id": self.doc_id, "title": self.title, "url": self.url, "score": self.score} | {
            "coverage": round(self.coverage, 4)
        }


def unlinked(engine: sa.Engine, span: Range) -> list[Incident]:
    """Resolved incidents in the range with no article attached in ServiceNow nor linked here."""
    i = servicenow_incidents.c
    where: sa.ColumnElement[bool] = i.resolved_at.isnot(None)
    if span[0]:
        where &= i.resolved_at >= span[0]
    if span[1]:
        where &= i.resolved_at < span[1]
    attached = sa.select(servicenow_attachments.c.task_sys_id).where(
        servicenow_attachments.c.task_sys_id == i.sys_id
    )
    linked = sa.select(feedback.c.id).where(feedback.c.ticket == i.number)
    query = (
        sa.select(i.number, i.short_description, i.resolved_at)
        .where(where & ~attached.exists() & ~linked.exists())
        .order_by(i.resolved_at.desc(), i.number)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    # SQLite hands the moments back without their zone; they were written in UTC.
    return [Incident(r.number, r.short_description, _utc(r.resolved_at)) for r in rows]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Judge:
    """Searches descriptions and measures how much of each its best hit holds."""

    def __init__(self, search: SearchService) -> None:
        self.search = search
        self.commit = search.commit()
        self.synonyms = search.synonyms().groups
        self._documents: dict[str, set[str]] = {}
        self._idf: dict[tuple[str, str], float] = {}

    def best_hit(self, description: str) -> Hit | None:
        """The search's first result for the description, or None when it finds nothing."""
        key = (self.commit, description)
        if key in _JUDGED:
            return _JUDGED[key]
        # Its words only: a ticket's quotes, minus signs and colons are no query syntax. The trailing space
        # tells the search that the last word is finished (no completions).
        query = " ".join(fold(description))[: MAX_QUERY - 1] + " "
        found = self.search.search(query, None, 1)["results"] if query.strip() else []
        hit = None
        if found:
            best = found[0]
            stored = self.search.lookup(best["id"]) or {}
            coverage = self.coverage(description, best["id"], best["lang"], stored)
            category = str(stored.get("category") or "")
            hit = Hit(best["id"], best["title"], best["url"], category, best["score"], coverage)
        if len(_JUDGED) > _MAX_JUDGED:
            _JUDGED.clear()
        _JUDGED[key] = hit
        return hit

    def coverage(self, description: str, doc_id: str, lang: str, stored: dict[str, Any]) -> float:
        """The idf-weighted share of the description's stems (in the hit's language) the document holds."""
        if doc_id not in self._documents:
            text = " ".join(str(stored.get(f) or "") for f in ("title", "tags", "body")).replace(",", " ")
            self._documents[doc_id] = set(words_of(text, lang).stems)
        held = self._documents[doc_id]
        words = words_of(description, lang)
        if not words.stems:
            return 1.0  # nothing to judge by: not counted as a gap
        weights = self._weights(lang, list(words.stems))
        covered = sum(
            weights[stem]
            for stem, word in words.stems.items()
            if stem in held or synonym_stems(" ".join(fold(word)), lang, self.synonyms) & held
        )
        return covered / sum(weights.values())

    def _weights(self, lang: str, stems: list[str]) -> dict[str, float]:
        missing = [s for s in stems if (lang, s) not in self._idf]
        if missing:
            documents, frequencies = self.search.document_frequencies(lang, missing)
            for stem, df in frequencies.items():
                self._idf[(lang, stem)] = math.log(1 + (documents - df + 0.5) / (df + 0.5))
        return {s: self._idf[(lang, s)] for s in stems}


def proposals(engine: sa.Engine) -> dict[str, int]:
    """The change request each ticket's gap was proposed in."""
    s = servicenow_state.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(s.key, s.value).where(s.key.startswith(PROPOSED, autoescape=True)))
        return {key.removeprefix(PROPOSED): int(value) for key, value in rows}


def record_proposal(engine: sa.Engine, numbers: list[str], change: int) -> None:
    """Remember that these tickets' gap is proposed in a change request."""
    keys = [PROPOSED + n for n in numbers]
    with engine.begin() as conn:
        conn.execute(servicenow_state.delete().where(servicenow_state.c.key.in_(keys)))
        conn.execute(servicenow_state.insert(), [{"key": k, "value": str(change)} for k in keys])


def find_gaps(
    engine: sa.Engine,
    search: SearchService,
    span: Range,
    rules: GapRules,
    change_state: Callable[[int], str | None],
) -> list[dict[str, Any]]:
    """The clusters of unlinked incidents whose best hit is weak, the largest first."""
    judge = Judge(search)
    weak: list[tuple[Incident, Hit | None, Words]] = []
    for incident in unlinked(engine, span):
        hit = judge.best_hit(incident.description)
        words = words_of(incident.description)
        if words.stems and (hit is None or hit.coverage < rules.coverage):
            weak.append((incident, hit, words))
    proposed = proposals(engine)
    states: dict[int, str | None] = {}
    clusters = []
    for group in cluster([w.key for _, _, w in weak], rules.similarity):
        members = [weak[n] for n in group]
        change = _open_proposal([m[0].number for m in members], proposed, states, change_state)
        clusters.append(_cluster(members, rules, change))
    return sorted(clusters, key=lambda c: (-c["tickets"], -c["last_resolved"].timestamp(), c["id"]))


def _open_proposal(
    numbers: list[str],
    proposed: dict[str, int],
    states: dict[int, str | None],
    change_state: Callable[[int], str | None],
) -> int | None:
    for change in sorted({proposed[n] for n in numbers if n in proposed}, reverse=True):
        if change not in states:
            states[change] = change_state(change)
        if states[change] not in (None, *CLOSED_STATES):
            return change
    return None


def _cluster(
    members: list[tuple[Incident, Hit | None, Words]], rules: GapRules, change: int | None
) -> dict[str, Any]:
    incidents = [m[0] for m in members]  # newest first, as unlinked() orders them
    hits = [m[1] for m in members if m[1] is not None]
    closest = max(hits, key=lambda h: (h.coverage, h.score), default=None)
    words = [m[2] for m in members]
    langs = [w.lang for w in words]
    return {
        "id": min(i.number for i in incidents),
        "tickets": len(incidents),
        "lang": max(set(langs), key=lambda lang: (langs.count(lang), lang == "es")),
        "words": common_words(words),
        "title": _typical(members),
        "examples": [
            {"number": i.number, "short_description": i.description, "resolved_at": i.resolved_at}
            for i in incidents[: rules.examples]
        ],
        "numbers": sorted(i.number for i in incidents),
        "first_resolved": min(i.resolved_at for i in incidents),
        "last_resolved": max(i.resolved_at for i in incidents),
        "closest": closest.as_json() if closest else None,
        "closest_category": closest.category if closest else "",
        "median_coverage": round(statistics.median(h.coverage for h in hits), 4) if hits else 0.0,
        "change_request": change,
    }


def _typical(members: list[tuple[Incident, Hit | None, Words]]) -> str:
    """The description most like the others (of the 50 newest), as the draft's title."""
    sample = members[:50]
    score: dict[int, float] = defaultdict(float)
    for a, (_, _, wa) in enumerate(sample):
        for b, (_, _, wb) in enumerate(sample):
            if a != b:
                score[a] += jaccard(wa.key, wb.key)
    best = max(range(len(sample)), key=lambda n: (score[n], -len(sample[n][0].description)))
    return " ".join(sample[best][0].description.split())[:160]
