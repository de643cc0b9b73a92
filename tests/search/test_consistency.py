"""The index follows git: incremental catch-up equals a rebuild, readers never fail, damage is repaired."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from kbserver.repository import SERVICE_AUTHOR, ContentRepository
from kbserver.search import SearchIndex, SearchService

QUERIES = ["vpn", "contrasena bloqueada", "impresora", "escalado", "teams audio", "password reset", "zzzz"]


def _commit(repo: ContentRepository, changes: dict[str, bytes | None]) -> str:
    return repo.commit_files("main", changes, "change", SERVICE_AUTHOR, expected_head=repo.head("main"))


def _answers(service: SearchService) -> list[tuple[str | None, frozenset[str], int]]:
    # The top hit, the set of hits and the total. Scores differ slightly (deleted documents count in BM25
    # statistics until segments merge), so near-ties further down may swap places.
    answers = []
    for q in QUERIES:
        response = service.search(q, limit=50)
        ids = [r["id"] for r in response["results"]]
        answers.append((ids[0] if ids else None, frozenset(ids), response["total"]))
    return answers


def test_incremental_catch_up_equals_a_rebuild(content_repo: ContentRepository, tmp_path: Path) -> None:
    incremental = SearchIndex(tmp_path / "incremental")
    assert incremental.catch_up(content_repo, content_repo.resolve("main")).action == "rebuilt"
    head = content_repo.resolve("main")
    vpn = content_repo.read(head, "docs/kb/red-vpn/vpn-no-conecta.md")
    teams = content_repo.read(head, "docs/kb/software/teams-audio.md")
    assert vpn and teams
    new = vpn.replace(b"KB-0011", b"KB-0100").replace(b"La VPN no conecta", b"Impresora de red en la VPN")
    retired = teams.replace(b"review_by: 2027-04-30", b"review_by: 2027-04-30\nstatus: retired")
    commit = _commit(
        content_repo,
        {
            "docs/kb/red-vpn/nuevo.md": new.replace(b"<script>", b""),  # added
            "docs/kb/software/teams-audio.md": retired,  # changed (retired)
            "docs/kb/dispositivos/portatil-no-enciende.md": None,  # deleted
            "docs/kb/correo/buzon-lleno.md": None,  # renamed ...
            "docs/kb/correo/buzon-sin-espacio.md": content_repo.read(head, "docs/kb/correo/buzon-lleno.md"),
        },
    )
    done = incremental.catch_up(content_repo, commit)
    assert (done.action, done.changed) == ("updated", 5)
    rebuilt = SearchIndex(tmp_path / "rebuilt")
    rebuilt.catch_up(content_repo, commit)
    with SearchService(incremental) as a, SearchService(rebuilt) as b:
        assert _answers(a) == _answers(b)
        assert a.search("impresora")["commit"] == commit
        assert "KB-0028" not in [r["id"] for r in a.search("teams microfono")["results"]]
        assert "KB-0023" not in [r["id"] for r in a.search("portatil no enciende")["results"]]
        assert a.lookup("KB-0018")["path"] == "docs/kb/correo/buzon-sin-espacio.md"  # type: ignore[index]


def test_searches_never_fail_while_the_index_updates(content_repo: ContentRepository, tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "index")
    index.catch_up(content_repo, content_repo.resolve("main"))
    service = SearchService(index)
    request_cleanup = service.close
    path = "docs/kb/red-vpn/vpn-lenta.md"
    original = content_repo.read(content_repo.resolve("main"), path)
    assert original
    errors: list[BaseException] = []
    seen: list[tuple[str, int]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                response = service.search("vpn lenta desconexiones")
                seen.append((response["commit"], response["total"]))
            except BaseException as exc:  # any failure fails the test
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    commits = []
    for n in range(12):
        commits.append(_commit(content_repo, {path: original + f"\nCambio {n}.\n".encode()}))
        index.catch_up(content_repo, commits[-1])
    deadline = time.monotonic() + 30
    while len(seen) < 20 and time.monotonic() < deadline:  # a loaded machine may have searched little so far
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    request_cleanup()
    assert errors == []
    assert len(seen) > 10
    assert all(total >= 1 for _, total in seen)  # never a partial state without the document
    assert {c for c, _ in seen} <= {content_repo.resolve("HEAD~12"), *commits}


@pytest.mark.parametrize("damage", ["delete", "corrupt", "commit-marker"])
def test_missing_or_corrupt_index_is_rebuilt(
    content_repo: ContentRepository, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    index = SearchIndex(tmp_path / "index")
    commit = content_repo.resolve("main")
    index.catch_up(content_repo, commit)
    generation = index.generation()
    assert generation
    if damage == "delete":
        shutil.rmtree(tmp_path / "index")
    elif damage == "commit-marker":
        (generation / "COMMIT").write_bytes(b"\xff\xfegarbage")  # issue 11: this crashed every catch-up
    else:
        for segment in (generation / "index").glob("*.seg"):
            segment.write_bytes(b"garbage")
        for toc in (generation / "index").glob("*.toc"):
            toc.write_bytes(b"garbage")
    done = index.catch_up(content_repo, commit)
    assert done.action == "rebuilt"
    assert "rebuilding from git" in caplog.text
    with SearchService(index) as service:
        assert service.search("vpn")["total"] > 0


def test_a_long_lived_searcher_sees_deletions(content_repo: ContentRepository, tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "index")
    index.catch_up(content_repo, content_repo.resolve("main"))
    with SearchService(index) as service:
        assert "KB-0024" in [r["id"] for r in service.search("monitor externo")["results"]]
        commit = _commit(content_repo, {"docs/kb/dispositivos/monitor-externo.md": None})
        index.catch_up(content_repo, commit)
        after = service.search("monitor externo")
        assert after["commit"] == commit
        assert "KB-0024" not in [r["id"] for r in after["results"]]


def test_cached_briefs_last_until_the_index_changes(content_repo: ContentRepository, tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "index")
    first = content_repo.resolve("main")
    index.catch_up(content_repo, first)
    path = "docs/kb/red-vpn/vpn-lenta.md"
    with SearchService(index) as service:
        assert service.cached_brief("KB-0012") == (False, None)  # nothing looked up yet
        brief = service.brief("KB-0012")
        assert brief is not None and brief["path"] == path
        assert service.cached_brief("KB-0012") == (True, brief)
        assert service.brief(page="/kb/red-vpn/vpn-lenta/") == brief
        assert service.cached_brief(page="kb/red-vpn/vpn-lenta") == (True, brief)
        assert service.brief("KB-9999") is None and service.cached_brief("KB-9999") == (True, None)

        text = (content_repo.read(first, path) or b"") + b"\nUna linea nueva.\n"
        changed = _commit(content_repo, {path: text})
        assert index.catch_up(content_repo, changed).action == "updated"
        assert service.cached_brief("KB-0012") == (False, None)  # same generation, a new TOC
        assert service.brief("KB-0012")["changed"] == changed  # type: ignore[index]

        assert index.rebuild(content_repo, changed).action == "rebuilt"
        assert service.cached_brief("KB-0012") == (False, None)  # a new generation
        assert service.brief("KB-0012")["index_commit"] == changed  # type: ignore[index]


def test_returned_pages_kept_decoded_are_dropped_when_the_index_changes(
    content_repo: ContentRepository, tmp_path: Path
) -> None:
    """A search thread keeps the documents it returned decoded, by document number. A change deletes and
    adds documents, and Whoosh's merges renumber them: after it, a long-lived service answers as a new one."""
    index = SearchIndex(tmp_path / "index")
    head = content_repo.resolve("main")
    index.catch_up(content_repo, head)
    queries = ["vpn", "contrasena", "impresora", "correo", "teams", "monitor", "wifi", "office"]
    files = [p for p, _ in content_repo.files(head, "docs/kb/") if not p.endswith("index.md")]
    with SearchService(index, cache_size=0) as kept:
        for n, path in enumerate(files[:12]):
            for q in queries:  # fills the kept pages with this state's document numbers
                kept.search(q)
            text = content_repo.read(content_repo.resolve("main"), path) or b""
            change = {path: None} if n % 3 == 0 else {path: text + f"\nNota {n}: zqmarca{n}.\n".encode()}
            index.catch_up(content_repo, _commit(content_repo, change))
            with SearchService(index, cache_size=0) as fresh:
                for q in [*queries, f"zqmarca{n}"]:
                    assert kept.search(q)["results"] == fresh.search(q)["results"], (n, q)
