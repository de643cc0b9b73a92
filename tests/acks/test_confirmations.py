"""Operators and leads confirm each change of a chapter or chat script: who is asked, about what, and when a
later change asks again (on SQLite and PostgreSQL, with real git history)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from kbserver.acks.standing import standings
from kbserver.acks.versions import catch_up
from kbserver.errors import Conflict, Forbidden, NotFound
from kbserver.repository import SERVICE_AUTHOR
from kbserver.services import Services
from kbserver.store import connect, migrate
from kbserver.store.schema import document_versions, version_scan
from tests.acks.conftest import ESCALATION, SCRIPT, TRAINING, merge, text


def _due(services: Services, name: str) -> dict[str, dict[str, object]]:
    return {row["document_id"]: row for row in services.acks.due(services.users.get(name))}


def _inserted(ask: dict[str, object]) -> str:
    lines = ask["lines"]
    assert isinstance(lines, list)
    return " ".join(s["text"] for line in lines if line for s in line["segments"] if s["kind"] == "ins")


def test_the_seed_asks_nobody(desk: Services) -> None:
    desk.catch_up_acks()
    assert all(not _due(desk, name) for name in ("op1", "lead1", "appr1"))
    rows = desk.acks.documents()
    assert len(rows) == 17 and {r["kind"] for r in rows} == {"procedure", "script"}  # 8 chapters, 9 scripts
    assert all(r["asked"] == 0 and r["version"] == 1 for r in rows)


def test_a_change_asks_its_audience_and_confirming_ends_the_ask_until_the_next_change(desk: Services) -> None:
    first = merge(
        desk,
        "Escalado: 15 minutos",
        {ESCALATION: (text(desk, ESCALATION) + "\nPlazo uno.\n").encode()},
        ("appr1",),
    )
    for name in ("op1", "op2", "lead1", "lead2"):  # L1 and L2: operators and leads
        assert set(_due(desk, name)) == {"PROC-03"}, name
    assert _due(desk, "appr1") == {} and _due(desk, "admin1") == {}
    op1 = desk.users.get("op1")
    ask = desk.acks.ask(op1, "PROC-03")
    assert ask["commit"] == first and ask["version"] == 2 and ask["since_version"] == 1
    assert "Plazo uno." in _inserted(ask)

    record, created = desk.acks.confirm(op1, "PROC-03", first)
    assert created and record["user"] == "op1" and record["commit"] == first and record["version"] == 2
    assert record["confirmed_at"].tzinfo is not None
    again, created = desk.acks.confirm(op1, "PROC-03", first)
    assert not created and again["id"] == record["id"]
    assert _due(desk, "op1") == {} and set(_due(desk, "op2")) == {"PROC-03"}
    people = {r["user"]: r["state"] for r in desk.acks.people("PROC-03")}
    assert people == {"op1": "confirmed", "op2": "pending", "lead1": "pending", "lead2": "pending"}

    second = merge(
        desk,
        "Escalado: otra vez",
        {ESCALATION: (text(desk, ESCALATION) + "\nPlazo dos.\n").encode()},
        ("appr1",),
    )
    ask = desk.acks.ask(op1, "PROC-03")  # asked again, about just what changed since version 2
    assert ask["commit"] == second and ask["since_version"] == 2 and ask["confirmed_version"] == 2
    assert "Plazo dos." in _inserted(ask) and "Plazo uno." not in _inserted(ask)
    with pytest.raises(Conflict):  # the version read is no longer the current one
        desk.acks.confirm(op1, "PROC-03", first)
    ask2 = desk.acks.ask(desk.users.get("op2"), "PROC-03")  # never confirmed: everything since version 1
    assert ask2["since_version"] == 1 and "Plazo uno." in _inserted(ask2) and "Plazo dos." in _inserted(ask2)
    summary = next(r for r in desk.acks.documents() if r["document_id"] == "PROC-03")
    assert (summary["asked"], summary["confirmed"], summary["pending"], summary["version"]) == (4, 0, 4, 3)


def test_only_changes_of_text_ask_and_each_audience_maps_to_its_role(desk: Services) -> None:
    merge(
        desk,
        "Revisión de fecha",
        {ESCALATION: text(desk, ESCALATION).replace("2027-01-31", "2028-01-31").encode()},
        ("appr1",),
    )
    merge(
        desk,
        "VPN",
        {"docs/kb/red-vpn/vpn-lenta.md": (text(desk, "docs/kb/red-vpn/vpn-lenta.md") + "\nUno.\n").encode()},
        ("lead2",),
    )
    assert all(not _due(desk, name) for name in ("op1", "lead1"))  # front matter only, and an article
    merge(desk, "Formación", {TRAINING: (text(desk, TRAINING) + "\nSesión nueva.\n").encode()}, ("appr1",))
    assert _due(desk, "op1") == {} and set(_due(desk, "lead2")) == {"PROC-07"}  # L2 only: leads
    merge(desk, "Guion", {SCRIPT: (text(desk, SCRIPT) + "\nGracias.\n").encode()}, ("lead2", "appr1"))
    assert set(_due(desk, "op1")) == {"SCR-0003"} and set(_due(desk, "lead2")) == {"PROC-07"}  # L1 only
    with pytest.raises(Forbidden):
        desk.acks.confirm(desk.users.get("op1"), "PROC-07", desk.main_commit() or "")
    with pytest.raises(Forbidden):
        desk.acks.confirm(desk.users.get("appr1"), "SCR-0003", desk.main_commit() or "")
    with pytest.raises(NotFound):
        desk.acks.confirm(desk.users.get("op1"), "KB-0001", desk.main_commit() or "")
    retired = text(desk, SCRIPT).replace("audience: [L1]", "audience: [L1]\nstatus: retired")
    merge(desk, "Retirar", {SCRIPT: retired.encode()}, ("lead2", "appr1"))
    assert _due(desk, "op1") == {}  # a retired script asks nobody
    assert "SCR-0003" not in {r["document_id"] for r in desk.acks.documents()}


def test_new_and_disabled_people_and_overdue_after_the_days(desk: Services) -> None:
    commit = merge(
        desk, "Escalado", {ESCALATION: (text(desk, ESCALATION) + "\nNuevo.\n").encode()}, ("appr1",)
    )
    time.sleep(1.1)  # git dates a commit to the second; someone who joined in that second is still asked
    desk.users.add("op3", "operator", None)  # joined after the change: learns the manual as it stands
    desk.users.disable("op2")
    assert _due(desk, "op3") == {} and {r["user"] for r in desk.acks.people("PROC-03")} == {
        "op1",
        "lead1",
        "lead2",
    }
    desk.acks.confirm(desk.users.get("lead1"), "PROC-03", commit)
    # Per document: pending (then overdue) before confirmed, each by name; a state filters.
    assert [r["user"] for r in desk.acks.people("PROC-03")] == ["lead2", "op1", "lead1"]
    assert [r["user"] for r in desk.acks.people(state="confirmed")] == ["lead1"]
    with desk.engine.connect() as conn:
        now = datetime.now(UTC)
        soon = {s.person.name: s.state for s in standings(conn, 7, now + timedelta(days=6))}
        later = {s.person.name: s for s in standings(conn, 7, now + timedelta(days=8))}
    assert soon == {"lead1": "confirmed", "lead2": "pending", "op1": "pending"}
    assert {name: s.state for name, s in later.items()} == {
        "lead1": "confirmed",
        "lead2": "overdue",
        "op1": "overdue",
    }
    due = later["op1"].due_at
    assert due is not None and abs(
        due - (later["op1"].document.published_at + timedelta(days=7))
    ) < timedelta(seconds=2)


def test_versions_read_from_scratch_equal_those_recorded_merge_by_merge(
    desk: Services, tmp_path: object
) -> None:
    merge(desk, "Uno", {ESCALATION: (text(desk, ESCALATION) + "\nUno.\n").encode()}, ("appr1",))
    english = "docs/scripts/opening-verification.md"
    renamed: dict[str, bytes | None] = {
        english: None,
        "docs/scripts/opening.md": text(desk, english).encode(),
    }
    merge(desk, "Renombrar", renamed, ("lead2", "appr1"))
    merge(desk, "Dos", {ESCALATION: (text(desk, ESCALATION) + "\nDos.\n").encode()}, ("appr1",))
    desk.wait_for_background()
    assert desk.acks.catch_up() == 0  # each publish recorded its versions already
    fresh = connect(f"sqlite:///{tmp_path}/fresh.db")
    migrate(fresh)
    assert catch_up(fresh, desk.repository, "main", desk.published_commit()) == 17 + 2
    columns = (document_versions.c.doc_id, document_versions.c.seq, document_versions.c.commit)
    query = sa.select(*columns, document_versions.c.path, document_versions.c.latest).order_by(*columns[:2])
    with desk.engine.connect() as a, fresh.connect() as b:
        assert [tuple(r) for r in a.execute(query)] == [tuple(r) for r in b.execute(query)]
        rename = b.execute(query.where(document_versions.c.doc_id == "SCR-0009")).all()
    assert [(r.seq, r.path) for r in rename] == [(1, "docs/scripts/opening.md")]  # its text did not change
    fresh.dispose()


def test_a_commit_held_back_from_publishing_asks_nobody_until_an_admin_accepts_it(desk: Services) -> None:
    desk.catch_up_index()  # the seed is published (and is the publishing baseline)
    repo = desk.repository
    body = (text(desk, ESCALATION) + "\nAtajo sin revisar.\n").encode()
    sneaked = repo.commit_files("main", {ESCALATION: body}, "atajo", SERVICE_AUTHOR, repo.head("main"))
    desk.catch_up_index(fresh=True)
    desk.wait_for_background()
    assert desk.published_commit() != sneaked and desk.main_commit() == sneaked
    assert _due(desk, "op1") == {}  # operators read the published commit: nothing changed there

    desk.publisher.accept(desk.users.get("admin1"), sneaked, "hotfix checked by phone with the client")
    desk.catch_up_index(fresh=True)
    desk.wait_for_background()
    assert desk.published_commit() == sneaked
    with desk.engine.connect() as conn:  # recorded when the published commit moved, before anyone asked
        assert conn.scalar(sa.select(version_scan.c.commit)) == sneaked
    assert _due(desk, "op1")["PROC-03"]["commit"] == sneaked
