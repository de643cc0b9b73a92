"""The API renders the XSS corpus inert: documents, the editor's check, a change request's diff (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from tests.api.conftest import login
from tests.xss_corpus import API_ONLY_PAYLOADS, body_document, corpus_files, dangers


@pytest.fixture
def corpus_client(services: Services, tmp_path: Path) -> TestClient:
    repo = services.repository
    corpus = corpus_files(tmp_path / "ran", repo.paths(repo.resolve("main")))
    files = {p: c for p, c in corpus.items() if p.endswith(".md")}
    repo.commit_files("main", files, "corpus", SERVICE_AUTHOR, expected_head=repo.head("main"))
    services.users.add("lead1", "lead", "s3cret-password")
    services.catch_up_index()
    return TestClient(create_app(services.settings, services))


def test_documents_render_the_corpus_inert(corpus_client: TestClient, services: Services) -> None:
    with corpus_client as client:
        login(client, "lead1")
        commit = services.main_commit() or ""
        ids = [
            line.split(":", 1)[1].strip().strip("'\"")
            for line in services.repository.grep_first(commit, r"^id:[[:space:]]").values()
        ]
        rendered = 0
        for doc_id in ids:
            answer = client.get(f"/api/documents/{doc_id}")
            if answer.status_code != 200:
                continue  # an id made of a payload is not a valid id
            rendered += 1
            assert dangers(answer.json()["html"]) == [], doc_id
        assert rendered > 20
        body = client.get("/api/documents/KB-0900").json()["html"]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_editors_check_and_the_change_diff_render_the_corpus_inert(corpus_client: TestClient) -> None:
    text = body_document() + "\n\n".join(API_ONLY_PAYLOADS) + "\n"
    with corpus_client as client:
        csrf = login(client, "lead1")
        h = {"x-csrf-token": csrf}
        checked = client.post(
            "/api/content/check", json={"path": "docs/kb/xss/new.md", "text": text}, headers=h
        )
        assert checked.status_code == 200
        assert dangers(checked.json()["html"]) == []
        rules = {f["rule"] for f in checked.json()["findings"]}
        assert "unsafe-url" in rules
        change = client.post("/api/changes", json={"title": "Cargas"}, headers=h).json()
        wrote = client.post(
            f"/api/changes/{change['number']}/commits",
            json={"changes": {"docs/kb/xss/new.md": text}, "expected_head": change["head_commit"]},
            headers=h,
        )
        assert wrote.status_code == 200
        [file] = client.get(f"/api/changes/{change['number']}/diff").json()["files"]
        assert file["html"] and dangers(file["html"]) == []
        page = client.get(f"/app/changes/{change['number']}")  # the approver's page shows that preview
        assert page.status_code == 200 and dangers(page.text.split('<div class="rendered">', 1)[1]) == []
