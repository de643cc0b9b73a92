"""Lint and preview a document sent in the request body, with the same parser as everything else."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kbserver.api.contract import errors
from kbserver.api.deps import CurrentUser, ServicesDep
from kbserver.api.models.content import ContentCheck
from kbserver.content import render_html
from kbserver.content.checks import lint_draft
from kbserver.errors import InvalidInput, NotFound

router = APIRouter(prefix="/api/content", tags=["content"])
MAX_DOCUMENT = 500_000


class Draft(BaseModel):
    path: str = Field(pattern=r"^docs/[A-Za-z0-9._/-]+\.md$", max_length=300)
    text: str = Field(max_length=MAX_DOCUMENT)


@router.post("/check", response_model=ContentCheck, responses=errors(400, 401, 403, 404, 422))
def check(draft: Draft, _user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Lint a draft against the content of main, and render its preview. Only the draft and the documents it
    links to are parsed (as for a change request's check), so the editor's check takes as long however large
    the knowledge base grows."""
    if ".." in draft.path.split("/"):
        raise InvalidInput("path must stay inside docs/")
    commit = services.main_commit()
    if commit is None:
        raise NotFound(f"branch {services.settings.branch} does not exist yet: nothing to check against")
    doc, findings = lint_draft(services.repository, commit, draft.path, draft.text)
    return {
        "findings": [f.as_json() for f in findings],
        "errors": sum(f.severity == "error" for f in findings),
        "title": doc.title,
        "html": render_html(doc.body, draft.path, set(services.repository.paths(commit)) | {draft.path}),
    }
