"""Git and the state store agree after a kill, and creating change requests at once never collides (issue 11,
item 7): numbers are allocated atomically, a failed creation leaves no branch, and start-up reconcile records
the branch heads git has (git is the truth), with an audit event."""

from __future__ import annotations

import subprocess
import threading

import pytest
import sqlalchemy as sa

from approval.model import State
from kbserver.errors import Conflict
from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from tests.approval.conftest import git_branches, propose

KB = "docs/kb/red-vpn/vpn-lenta.md"


def _lost_commit(services: Services, number: int, extra: bytes) -> str:
    """What a write killed between git and the state store leaves: the branch moved, the record did not."""
    change = services.workflow.records.get(number)
    text = (services.repository.read(change.head_commit, KB) or b"") + extra
    return services.repository.commit_files(
        change.branch, {KB: text}, "edit", SERVICE_AUTHOR, change.head_commit
    )


def test_start_up_reconcile_records_the_branch_head_git_has(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Cambio", KB, b"\nUno.\n")
    flow.submit(get("lead1"), n)
    flow.approve(get("lead2"), n)
    assert flow.records.get(n).state is State.APPROVED
    head = _lost_commit(store_services, n, b"\nDos.\n")
    assert flow.reconcile() == []  # nothing merged; the head is fixed all the same
    change = flow.records.get(n)
    assert change.head_commit == head
    assert change.state is State.IN_REVIEW  # the approval was of another head
    event = flow.records.events(n)[-1]
    assert (event["user"], event["action"], event["head_commit"]) == (None, "reconcile", head)
    assert "git is the truth" in event["detail"]
    text = (store_services.repository.read(head, KB) or b"") + b"\nTres.\n"
    assert flow.write(get("lead1"), n, {KB: text}, head, "next").head_commit != head
    assert flow.reconcile() == [] and flow.records.events(n)[-1]["action"] == "commit"


def test_a_write_after_a_lost_commit_gets_gits_head_and_then_succeeds(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Cambio", KB, b"\nUno.\n")
    stale = flow.records.get(n).head_commit
    head = _lost_commit(store_services, n, b"\nDos.\n")
    with pytest.raises(Conflict) as moved:
        flow.write(get("lead1"), n, {KB: b"x\n"}, stale, "from the stale head")
    assert moved.value.details == {"head": head}
    assert flow.write(get("lead1"), n, {KB: b"x\n"}, head, "from git's head").state is State.DRAFT


def test_a_missing_branch_is_made_again_at_the_recorded_head(store_services: Services) -> None:
    flow = store_services.workflow
    n = propose(store_services, "lead1", "Cambio", KB, b"\nUno.\n")
    change = flow.records.get(n)
    path = str(store_services.repository.path)
    subprocess.run(["git", "-C", path, "update-ref", "-d", f"refs/heads/{change.branch}"], check=True)
    flow.reconcile()
    assert store_services.repository.head(change.branch) == change.head_commit
    assert flow.records.events(n)[-1]["action"] == "reconcile"


def test_start_up_removes_branches_of_creations_that_never_completed(store_services: Services) -> None:
    repo, main = store_services.repository, store_services.main_commit() or ""
    n = propose(store_services, "lead1", "Cambio", KB, b"\nUno.\n")
    repo.create_branch("change/7-huerfana", main)
    work = repo.commit_files("change/8-con-trabajo", {KB: b"trabajo\n"}, "x", SERVICE_AUTHOR, None)
    store_services.workflow.reconcile()
    branches = git_branches(repo.path)
    assert "change/7-huerfana" not in branches
    assert branches["change/8-con-trabajo"] == work  # work is never thrown away
    assert store_services.workflow.records.get(n).branch in branches


def test_ten_simultaneous_creations_each_get_their_own_number(store_services: Services) -> None:
    get = store_services.users.get
    other = Services.open(store_services.settings)  # a second process's engine on the same store
    flows = [store_services.workflow, other.workflow]
    start = threading.Barrier(10)
    errors: list[BaseException] = []
    numbers: list[int] = []

    def create(i: int) -> None:
        start.wait()
        try:
            numbers.append(flows[i % 2].create(get(f"lead{i % 3 + 1}"), f"Cambio simultáneo {i}").number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    assert errors == []
    assert sorted(numbers) == list(range(1, 11))
    records = store_services.workflow.records.find()
    assert sorted(git_branches(store_services.repository.path)) == sorted(c.branch for c in records)
    assert all(c.branch.startswith(f"change/{c.number}-cambio-simult") for c in records)


def _refuse_creation_events(engine: sa.Engine) -> None:
    """A store that fails after the branch is made: the creation event cannot be written."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'store refused'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON change_events FOR EACH ROW "
                    "WHEN (NEW.action = 'create') EXECUTE FUNCTION refuse()"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON change_events WHEN NEW.action = 'create' "
                    "BEGIN SELECT RAISE(ABORT, 'store refused'); END"
                )
            )


def test_a_creation_that_fails_leaves_no_branch_and_no_record(store_services: Services) -> None:
    _refuse_creation_events(store_services.engine)
    with pytest.raises(sa.exc.DBAPIError, match="store refused"):
        store_services.workflow.create(store_services.users.get("lead1"), "No quedará rastro")
    assert git_branches(store_services.repository.path) == {}
    assert store_services.workflow.records.find() == []


def test_a_leftover_branch_without_work_is_taken_over(store_services: Services) -> None:
    repo = store_services.repository
    repo.create_branch("change/1-cambio", store_services.main_commit() or "")
    change = store_services.workflow.create(store_services.users.get("lead1"), "Cambio")
    assert change.branch == "change/1-cambio" and change.number == 1


def test_a_merge_is_refused_while_the_branch_and_the_record_disagree(store_services: Services) -> None:
    flow, get = store_services.workflow, store_services.users.get
    n = propose(store_services, "lead1", "Cambio", KB, b"\nUno.\n")
    flow.submit(get("lead1"), n)
    flow.approve(get("lead2"), n)
    main = store_services.main_commit()
    head = _lost_commit(store_services, n, b"\nNadie aprobo esto.\n")
    with pytest.raises(Conflict, match="branch moved"):
        flow.merge(get("lead1"), n)
    assert store_services.main_commit() == main
    change = flow.records.get(n)
    assert (change.state, change.head_commit) == (State.IN_REVIEW, head)
