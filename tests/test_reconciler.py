"""The stale-site bugs, on one node: each replica's reconciler brings the index and the site to the
published head of main, whoever merged and however quickly, and tries a failed site build again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kbserver.services import Services
from kbserver.settings import Settings

ARTICLE = "docs/kb/red-vpn/vpn-lenta.md"
OTHER = "docs/kb/red-vpn/sin-internet.md"
PEOPLE = [("lead1", "lead"), ("lead2", "lead")]


@pytest.fixture
def running(settings: Settings) -> Iterator[Services]:
    """The service's parts with their background work running, as `kb serve` runs them."""
    services = Services.open(settings.model_copy(update={"manual_autobuild": False}))
    for name, role in PEOPLE:
        services.users.add(name, role, None, email=f"{name}@desk.example")
    yield services
    services.close()


def _until(condition: Callable[[], bool], seconds: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not within {seconds} s"
        time.sleep(0.1)
    return time.monotonic() - started


def _approved(services: Services, line: str, path: str = ARTICLE) -> int:
    flow = services.workflow
    lead1, lead2 = services.users.get("lead1"), services.users.get("lead2")
    change = flow.create(lead1, line[:40])
    text = (services.repository.read(services.main_commit() or "", path) or b"") + line.encode()
    flow.write(lead1, change.number, {path: text}, change.head_commit, "edit")
    flow.submit(lead1, change.number)
    flow.approve(lead2, change.number)
    return change.number


def test_two_quick_merges_the_second_from_another_process_reach_the_site(running: Services) -> None:
    services = running
    first, second = _approved(services, "\nUno.\n"), _approved(services, "\nDos.\n", OTHER)
    services.start_background()
    services.merge(services.users.get("lead1"), first)
    # While the site of the first merge builds, another process (the CLI) merges the second.
    settings = services.settings
    env = {"KB_REPO": str(settings.repo), "KB_DATA_DIR": str(settings.data_dir)}
    env["KB_DATABASE_URL"] = settings.resolved_database_url
    kb = str(Path(sys.executable).with_name("kb"))
    done = subprocess.run(
        [kb, "change", "merge", str(second), "--as", "lead1"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    main = services.main_commit()
    assert main == services.workflow.records.get(second).merged_commit
    _until(lambda: services.site.served_commit() == main, 120)
    assert services.index.commit() == main
    assert services.readiness.refresh().not_ready == []


def test_a_failed_site_build_is_tried_again(running: Services) -> None:
    services = running
    builds = services.site.builds
    builds.parent.mkdir(parents=True, exist_ok=True)
    builds.write_text("not a folder: every build fails until this goes\n")  # as a full disk would
    services.start_background()
    _until(lambda: services.index.commit() == services.main_commit(), 30)
    time.sleep(1.0)  # the first build has failed by now
    assert services.site.served_commit() is None
    builds.unlink()
    waited = _until(lambda: services.site.served_commit() == services.main_commit(), 60)
    assert waited > 0


def test_kb_publishing_shows_a_push_around_the_workflow_and_an_admin_accepts_it(
    running: Services, tmp_path: Path
) -> None:
    settings = running.settings
    running.users.add("boss", "admin", None, email="boss@desk.example")
    published = running.published_commit()
    work = tmp_path / "plain"
    for step in (
        ["clone", "-q", str(settings.repo), str(work)],
        ["-C", str(work), "commit", "-q", "--allow-empty", "-m", "around the workflow"],
        ["-C", str(work), "push", "-q", "origin", "HEAD:main"],
    ):
        subprocess.run(["git", *step], check=True, capture_output=True)
    sneaked = running.main_commit() or ""
    env = {**os.environ, "KB_REPO": str(settings.repo), "KB_DATA_DIR": str(settings.data_dir)}
    env["KB_DATABASE_URL"] = settings.resolved_database_url
    kb = [str(Path(sys.executable).with_name("kb")), "publishing"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*kb, *args], capture_output=True, text=True, env=env, check=False)

    held = run("status")
    assert held.returncode == 1 and sneaked[:12] in held.stdout and "around the workflow" in held.stdout
    assert running.publication(fresh=True).published == published
    refused = run("accept", sneaked, "--as", "lead1", "--reason", "looks fine to me, really")
    assert refused.returncode == 2 and "admin" in refused.stderr
    done = run("accept", sneaked[:12], "--as", "boss", "--reason", "an empty commit, checked by hand")
    assert done.returncode == 0, done.stderr
    assert "everything on main is published" in run("status").stdout
    assert running.publication(fresh=True).published == sneaked
