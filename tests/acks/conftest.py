"""A content repository, a state store (SQLite and PostgreSQL) and the desk's people, for confirmations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kbserver.services import Services
from kbserver.settings import Settings

PEOPLE = [
    ("lead1", "lead"),
    ("lead2", "lead"),
    ("appr1", "approver"),
    ("op1", "operator"),
    ("op2", "operator"),
    ("admin1", "admin"),
]
ESCALATION = "docs/procedures/03-escalado.md"  # PROC-03, audience L1 and L2
TRAINING = "docs/procedures/07-formacion-l1.md"  # PROC-07, audience L2 only
SCRIPT = "docs/scripts/cuenta-bloqueada.md"  # SCR-0003, audience L1 only


@pytest.fixture
def desk(settings: Settings, database_url: str) -> Iterator[Services]:
    """The service's parts on SQLite and on PostgreSQL, with the people above, without background builds."""
    opened = Services.open(
        settings.model_copy(
            update={"database_url": database_url, "site_autobuild": False, "manual_autobuild": False}
        )
    )
    for name, role in PEOPLE:
        opened.users.add(name, role, None, display_name=name.title(), email=f"{name}@desk.example")
    yield opened
    opened.wait_for_background()  # a merge's catch-up thread may still hold a connection
    opened.close()


def merge(
    services: Services, title: str, changes: dict[str, bytes | None], approvers: tuple[str, ...]
) -> str:
    """lead1 proposes the changes, the approvers sign them off, lead1 merges; returns the merge commit."""
    flow = services.workflow
    lead = services.users.get("lead1")
    change = flow.create(lead, title)
    flow.write(lead, change.number, changes, change.head_commit, title)
    flow.submit(lead, change.number)
    for name in approvers:
        flow.approve(services.users.get(name), change.number, "ok")
    merged = services.merge(lead, change.number)
    assert merged.merged_commit
    return merged.merged_commit


def text(services: Services, path: str) -> str:
    """A file's text on main."""
    found = services.repository.read(services.main_commit() or "", path)
    assert found is not None
    return found.decode()
