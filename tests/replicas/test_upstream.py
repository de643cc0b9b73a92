"""The upstream remote: every write reaches it first (compare-and-swap), a lost race is refused and fetched,
an unreachable upstream changes nothing, and a commit pushed around the workflow is never published until an
admin accepts it."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.errors import Conflict, InvalidInput
from kbserver.repository.upstream import Upstream
from kbserver.services import Services
from kbserver.settings import Settings
from tests.api.conftest import PASSWORD, login
from tests.replicas.conftest import git, push_around_the_workflow

ARTICLE = "docs/kb/red-vpn/vpn-no-conecta.md"
PEOPLE = [("lead1", "lead"), ("lead2", "lead"), ("operator1", "operator"), ("admin1", "admin")]


def kb(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `kb` command."""
    command = [str(Path(sys.executable).with_name("kb")), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture
def replica(tmp_path: Path, upstream_url: str) -> Iterator[Services]:
    """One replica: `kb init --upstream` cloned the upstream, and the service runs on it with SQLite."""
    local = tmp_path / "replica" / "content"
    done = kb("init", str(local), "--upstream", upstream_url)
    assert done.returncode == 0, done.stderr
    settings = Settings(
        repo=local,
        data_dir=tmp_path / "replica" / "data",
        database_url=f"sqlite:///{tmp_path / 'replica.db'}",
        upstream=upstream_url,
        site_autobuild=False,
    )
    services = Services.open(settings)
    for name, role in PEOPLE:
        services.users.add(name, role, PASSWORD, email=f"{name}@desk.example")
    services.catch_up_index()
    yield services
    services.close()


def _propose(services: Services, text: bytes) -> tuple[int, str]:
    lead1 = services.users.get("lead1")
    change = services.workflow.create(lead1, "VPN: un paso más")
    old = services.repository.read(change.head_commit, ARTICLE) or b""
    done = services.workflow.write(lead1, change.number, {ARTICLE: old + text}, change.head_commit, "paso")
    return change.number, done.head_commit


def test_every_write_reaches_the_upstream_before_it_is_recorded(
    replica: Services, upstream_repo: Path
) -> None:
    number, head = _propose(replica, b"\nReinicie el cliente VPN de la oficina.\n")
    branch = replica.workflow.records.get(number).branch
    assert git("rev-parse", f"refs/heads/{branch}", cwd=upstream_repo) == head
    replica.workflow.submit(replica.users.get("lead1"), number)
    replica.workflow.approve(replica.users.get("lead2"), number)
    merged = replica.merge(replica.users.get("lead1"), number)
    assert git("rev-parse", "refs/heads/main", cwd=upstream_repo) == merged.merged_commit
    assert replica.published_commit() == merged.merged_commit
    hits = replica.search.search("reinicie cliente vpn oficina")["results"]
    assert hits and "vpn-no-conecta" in hits[0]["url"]


def test_a_write_that_loses_the_race_is_refused_and_the_replica_fetches(
    replica: Services, upstream_url: str, tmp_path: Path
) -> None:
    number, head = _propose(replica, b"\nPrimera version.\n")
    branch = replica.workflow.records.get(number).branch
    # Someone else moves the branch on the upstream (another replica, or plain git).
    other = tmp_path / "other"
    git("clone", "--quiet", "--branch", branch, upstream_url, str(other))
    (other / ARTICLE).write_text("---\nid: KB-0011\n---\n# Otro texto\n", encoding="utf-8")
    git("commit", "--quiet", "-am", "elsewhere", cwd=other)
    git("push", "--quiet", "origin", f"HEAD:{branch}", cwd=other)
    theirs = git("rev-parse", "HEAD", cwd=other)

    lead1 = replica.users.get("lead1")
    with pytest.raises(Conflict):
        replica.workflow.write(lead1, number, {ARTICLE: b"---\nid: KB-0011\n---\n# Mine\n"}, head, "mine")
    assert replica.repository.head(branch) == theirs  # fetched: a retry starts from what the upstream has
    assert replica.workflow.records.get(number).head_commit == theirs


def test_an_unreachable_upstream_answers_503_and_changes_nothing(tmp_path: Path, replica: Services) -> None:
    replica.repository.upstream = Upstream(replica.repository.path, "git://127.0.0.1:9/nothing.git")
    replica.repository.upstream.configure()
    before = replica.repository.branches("")
    with TestClient(create_app(replica.settings, replica)) as client:
        headers = {"x-csrf-token": login(client, "lead1")}
        answer = client.post("/api/changes", json={"title": "Nada llega"}, headers=headers)
        assert answer.status_code == 503, answer.text
        assert "upstream" in answer.json()["error"]["message"]
        assert client.get("/api/search", params={"q": "vpn"}).status_code == 200  # reads carry on
    assert replica.repository.branches("") == before
    assert replica.workflow.records.find() == []


def test_a_password_never_travels_in_the_url(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(InvalidInput) as refused:
        Upstream(tmp_path, "https://desk:s3cr3t-token@git.example/kb.git")
    assert "s3cr3t-token" not in str(refused.value.as_json())
    done = kb("init", str(tmp_path / "c"), "--upstream", "https://desk:s3cr3t-token@git.example/kb.git")
    assert done.returncode != 0 and "s3cr3t-token" not in done.stdout + done.stderr
    assert not (tmp_path / "c").exists()
    # A user name in the URL (no password) is allowed but never logged: a failed fetch names the host only.
    upstream = Upstream(tmp_path, "https://desk@127.0.0.1:9/kb.git")
    git("init", "--quiet", "--bare", str(tmp_path / "m"))
    upstream.local = tmp_path / "m"
    upstream.configure()
    with caplog.at_level(logging.WARNING):
        assert upstream.fetch() is False
    assert "desk@" not in caplog.text and "127.0.0.1" in caplog.text


def test_a_push_around_the_workflow_is_held_until_an_admin_accepts_it(
    replica: Services, upstream_url: str, tmp_path: Path
) -> None:
    published = replica.published_commit()
    text = (replica.repository.read(published or "", ARTICLE) or b"").decode()
    text += "\nAtajo sin revisar: desactive el antivirus con la herramienta zarabanda.\n"
    sneaked = push_around_the_workflow(upstream_url, tmp_path / "plain", ARTICLE, text, "atajo")
    replica.repository.fetch()
    replica.catch_up_index(fresh=True)
    state = replica.publication()
    assert state.main == sneaked and state.published == published
    assert [held.commit for held in state.held] == [sneaked]
    assert "committed around the workflow" in state.held[0].reasons[0]
    assert replica.search.search("zarabanda")["total"] == 0

    with TestClient(create_app(replica.settings, replica)) as client:
        operator = {"x-csrf-token": login(client, "operator1")}
        assert client.get("/api/publishing").status_code == 403
        assert client.post("/api/publishing/accept", json={}, headers=operator).status_code in (403, 422)
        lead = {"x-csrf-token": login(client, "lead1")}
        page = client.get("/app").text
        assert 'id="publishing-banner"' in page and sneaked[:12] in page
        assert client.get("/api/publishing").json()["held"][0]["commit"] == sneaked
        body = {"commit": sneaked, "reason": "hotfix pushed by the client's git admin, checked by phone"}
        assert client.post("/api/publishing/accept", json=body, headers=lead).status_code == 403
        # The admin who wrote the commit (by the e-mail git recorded) cannot publish it alone.
        replica.users.add("admin2", "admin", PASSWORD, email="author@example.test")
        writer = {"x-csrf-token": login(client, "admin2")}
        own = client.post("/api/publishing/accept", json=body, headers=writer)
        assert own.status_code == 403 and "another admin" in own.json()["error"]["message"]
        admin = {"x-csrf-token": login(client, "admin1")}
        accepted = client.post("/api/publishing/accept", json=body, headers=admin)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["published"] == sneaked and accepted.json()["held"] == []
        event = accepted.json()["events"][0]
        assert event["action"] == "accept" and event["user"] == "admin1" and "hotfix" in event["reason"]
        assert 'id="publishing-banner"' not in client.get("/app").text
    assert replica.search.search("zarabanda")["total"] == 1


def test_a_held_commit_reverted_through_a_change_request_publishes_from_the_revert(
    replica: Services, upstream_url: str, tmp_path: Path
) -> None:
    published = replica.published_commit() or ""
    text = (replica.repository.read(published, ARTICLE) or b"").decode() + "\nHerramienta zarabanda.\n"
    sneaked = push_around_the_workflow(upstream_url, tmp_path / "plain", ARTICLE, text, "atajo")
    replica.repository.fetch()
    with TestClient(create_app(replica.settings, replica)) as client:
        lead1 = {"x-csrf-token": login(client, "lead1")}
        opened = client.post("/api/publishing/revert", json={"commit": sneaked[:12]}, headers=lead1)
        assert opened.status_code == 201, opened.text
        number = opened.json()["change_request"]
        assert opened.headers["location"] == f"/api/changes/{number}"
        assert client.post(f"/api/changes/{number}/submit", headers=lead1).status_code == 200
        lead2 = {"x-csrf-token": login(client, "lead2")}
        assert client.post(f"/api/changes/{number}/approve", json={}, headers=lead2).status_code == 200
        # Until the revert is merged, the held commit still holds main back.
        assert replica.publication(fresh=True).published == published
        lead1 = {"x-csrf-token": login(client, "lead1")}
        merged = client.post(f"/api/changes/{number}/merge", headers=lead1)
        assert merged.status_code == 200, merged.text
        state = client.get("/api/publishing").json()
    assert state["published"] == merged.json()["merged_commit"] == state["main"]
    assert state["held"] == [] and state["events"][0]["action"] == "revert"
    assert replica.repository.read(state["published"], ARTICLE) == replica.repository.read(published, ARTICLE)
    assert replica.search.search("zarabanda")["total"] == 0
