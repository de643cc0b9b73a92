"""Response rows of the reports, one model per report."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel


class DocumentRow(BaseModel):
    """`documents`: use and helpfulness of one document."""

    document_id: str
    title: str | None
    owner: str | None
    last_change: str | None
    uses: int
    votes: int
    helpful_rate: float | None
    helpful_rate_since_change: float | None
    first_contact_resolution: float | None
    escalation_rate: float | None
    open_flags: int


class GapRow(BaseModel):
    """`gaps`: a search that found nothing, or whose results nobody used."""

    gap: Literal["no_results", "not_opened"]
    query: str
    searches: int
    last: AwareDatetime


class KpiRow(BaseModel):
    """`kpis`: one week's desk figures."""

    week: str
    tickets: int
    link_rate: float | None
    first_contact_resolution: float | None
    escalation_rate: float | None


class UsageRow(BaseModel):
    """`usage`: one week's feedback."""

    week: str
    votes: int
    helpful_rate: float | None


class StaleDocument(BaseModel):
    document_id: str
    path: str
    why: str


class StaleRow(BaseModel):
    """`stale`: an owner's overdue reviews and translations behind their source."""

    owner: str
    documents: list[StaleDocument]


class DeviationRow(BaseModel):
    """`deviations`: how often a script step is deviated from, and how that was judged."""

    script_id: str
    step: str
    total: int
    approved: int
    rejected: int
    pending: int


ReportRows = (
    list[DocumentRow] | list[GapRow] | list[KpiRow] | list[UsageRow] | list[StaleRow] | list[DeviationRow]
)
