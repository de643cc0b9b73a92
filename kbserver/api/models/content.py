"""Response bodies of the document, search and content-check routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class LastChange(BaseModel):
    """The commit that last changed a document."""

    commit: str
    author: str
    date: str = Field(description="ISO 8601, with the committer's offset")


class Translation(BaseModel):
    """Another language version of a document."""

    id: str
    lang: str
    title: str
    url: str
    source: bool = Field(False, description="true for the original this document translates")


class DocumentOut(BaseModel):
    """A document at the commit the index reflects."""

    id: str
    kind: str
    path: str
    url: str
    commit: str
    meta: dict[str, Any] = Field(description="the front matter")
    html: str
    markdown: str
    last_change: LastChange | None
    translations: list[Translation]
    translation_stale: bool = Field(
        description="the source changed since the commit this translation follows"
    )


class HistoryCommit(BaseModel):
    """A commit that changed a document."""

    commit: str
    author: str
    date: str
    message: str


class DocumentHistory(BaseModel):
    """The commits that changed a document, newest first."""

    id: str
    path: str
    commits: list[HistoryCommit]


class SearchHit(BaseModel):
    """One ranked result, with the section it best matches and a snippet."""

    model_config = ConfigDict(extra="allow")  # the ranking may add what it knows about a hit

    id: str
    kind: str
    title: str
    url: str
    anchor: str | None
    snippet: str
    score: float
    lang: str
    tags: list[str]
    updated: str | None


class SearchResults(BaseModel):
    """Ranked results, the commit searched, a did-you-mean suggestion and, when asked, facets."""

    model_config = ConfigDict(extra="allow")

    query: str
    total: int = Field(description="documents found: exact when total_exact, else an estimate")
    total_exact: bool = Field(description="false when there were more matches than the page asked for")
    commit: str | None = Field(description="the commit the index reflects")
    suggestion: str | None
    results: list[SearchHit]
    facets: dict[str, dict[str, int]] = Field(
        description="facet -> value -> documents among the best 100; empty unless facets=true"
    )
    search_id: int | None = Field(
        None, description="quote it when a result is opened or linked; null when the search was not logged"
    )


class Suggestion(BaseModel):
    """A title completion."""

    id: str
    title: str
    kind: str
    lang: str
    url: str


class Suggestions(BaseModel):
    """Title completions for what was typed."""

    query: str
    commit: str | None = None
    suggestions: list[Suggestion]


class FindingOut(BaseModel):
    """A lint finding, with its file and line."""

    path: str
    line: int
    rule: str
    message: str
    severity: str


class ContentCheck(BaseModel):
    """A draft's lint findings and its rendered preview."""

    findings: list[FindingOut]
    errors: int
    title: str | None
    html: str
