"""The workflow on each state store: SQLite and a real PostgreSQL, with one user per name below."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from approval.workflow import Workflow
from kbserver.services import Services
from kbserver.settings import Settings

PEOPLE = [
    ("lead1", "lead"),
    ("lead2", "lead"),
    ("lead3", "lead"),
    ("appr1", "approver"),
    ("appr2", "approver"),
    ("admin1", "admin"),
]


@pytest.fixture
def store_services(settings: Settings, database_url: str) -> Iterator[Services]:
    """The service's parts on the test repository, with the state store on SQLite and on PostgreSQL."""
    opened = Services.open(settings.model_copy(update={"database_url": database_url}))
    for name, role in PEOPLE:
        opened.users.add(name, role, None, display_name=name.title(), email=f"{name}@desk.example")
    yield opened
    opened.close()


@pytest.fixture
def store_flow(store_services: Services) -> Workflow:
    """The workflow of store_services."""
    return store_services.workflow


def propose(services: Services, author: str, title: str, path: str, extra: bytes) -> int:
    """A change request by author that appends extra to path; returns its number."""
    who = services.users.get(author)
    change = services.workflow.create(who, title)
    text = services.repository.read(change.head_commit, path)
    assert text is not None
    services.workflow.write(who, change.number, {path: text + extra}, change.head_commit, "edit")
    return change.number


def add_to(services: Services, number: int, name: str, path: str, extra: bytes) -> str:
    """name commits extra at the end of path in CR-number; returns the new head."""
    flow = services.workflow
    change = flow.records.get(number)
    text = services.repository.read(change.head_commit, path) or b""
    return flow.write(
        services.users.get(name), number, {path: text + extra}, change.head_commit, "more"
    ).head_commit


def git_branches(repo: Path) -> dict[str, str]:
    """The change/* branches of a repository and their tips, as git lists them."""
    out = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "for-each-ref",
            "--format=%(refname:lstrip=2) %(objectname)",
            "refs/heads/change/",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(line.split(" ", 1) for line in out.splitlines())
