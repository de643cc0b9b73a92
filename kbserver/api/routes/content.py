"""Lint and preview a document sent in the request body, with the same parser as everything else."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kbserver.api.contract import errors
from kbserver.api.deps import CurrentUser, ServicesDep
from kbserver.api.models.content import ContentCheck
from kbserver.content import Corpus, lint_corpus, parse_document, render_html
from kbserver.errors import InvalidInput

router = APIRouter(prefix="/api/content", tags=["content"])
MAX_DOCUMENT = 500_000


class Draft(BaseModel):
    path: str = Field(pattern=r"^docs/[A-Za-z0-9._/-]+\.md$", max_length=300)
    text: str = Field(max_length=MAX_DOCUMENT)


@router.post("/check", response_model=ContentCheck, responses=errors(400, 401, 403, 422))
def check(draft: Draft, _user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Lint a draft against the content of main, and render its preview."""
    if ".." in draft.path.split("/"):
        raise InvalidInput("path must stay inside docs/")
    commit = services.main_commit()
    corpus = Corpus.from_files(services.repository.files(commit) if commit else [])
    corpus.documents[draft.path] = parse_document(draft.path, draft.text)
    corpus.files.add(draft.path)
    findings = [f for f in lint_corpus(corpus, date.today()) if f.path == draft.path]
    doc = corpus.documents[draft.path]
    return {
        "findings": [f.as_json() for f in findings],
        "errors": sum(f.severity == "error" for f in findings),
        "title": doc.title,
        "html": render_html(doc.body, draft.path, corpus.files),
    }
