"""Bodies of the knowledge-gap routes: clusters of tickets no article answers, and a cluster proposed."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class GapExample(BaseModel):
    number: str
    short_description: str
    resolved_at: AwareDatetime


class ClosestHit(BaseModel):
    """The best hit among the cluster's tickets, and how much of a ticket's words it holds."""

    id: str
    title: str
    url: str
    score: float = Field(description="the search's BM25F score")
    coverage: float = Field(description="share of the ticket's words, weighed by rarity, that it holds")


class GapCluster(BaseModel):
    """Resolved tickets with no article whose best hit is weak, grouped by similar descriptions."""

    id: str = Field(description="the cluster's first ticket number; any of its tickets names it too")
    tickets: int
    lang: str
    words: list[str] = Field(description="the words most of its tickets share")
    title: str = Field(description="its most typical description, the default title of an article")
    examples: list[GapExample] = Field(description="the newest tickets")
    numbers: list[str] = Field(description="every ticket of the cluster")
    first_resolved: AwareDatetime
    last_resolved: AwareDatetime
    closest: ClosestHit | None = Field(description="null when no ticket found anything")
    median_coverage: float
    change_request: int | None = Field(description="the open change request proposing an article for it")


class GapProposalIn(BaseModel):
    """What the new article is called and where it goes, and the range the cluster was listed for."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    title: str | None = Field(None, min_length=3, max_length=160)
    category: str | None = Field(None, min_length=1, max_length=80, description="folder under docs/kb/")
    since: datetime | None = Field(None, alias="from", description="start of the range")
    until: datetime | None = Field(None, alias="to", description="end of the range, exclusive")


class GapProposal(BaseModel):
    """The change request opened with the drafted article."""

    change_request: int
    branch: str
    document_id: str
    path: str
    cluster: str
    tickets: int
