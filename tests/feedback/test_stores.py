"""Feedback, flags and deviations in the state store, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from kbserver.feedback.deviations import DeviationStore
from kbserver.feedback.flags import FlagStore, Reason
from kbserver.feedback.votes import FeedbackStore, Outcome, Vote
from kbserver.store import connect, migrate
from kbserver.store.schema import change_requests
from kbserver.users import UserStore


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = connect(database_url)
    migrate(engine)
    UserStore(engine).add("ana", "operator", "a-long-password")
    UserStore(engine).add("luis", "lead", "a-long-password")
    yield engine
    engine.dispose()


def test_resubmission_updates_and_votes_stay_per_commit(engine: sa.Engine) -> None:
    store = FeedbackStore(engine)
    ana = UserStore(engine).get("ana").id
    first, created = store.record(Vote(ana, "KB-0001", "a" * 40, "INC0012345", False, None, None))
    again, created_again = store.record(
        Vote(ana, "KB-0001", "a" * 40, "INC0012345", True, Outcome.RESOLVED, "ok")
    )
    assert created and not created_again and first["id"] == again["id"]
    assert (again["helpful"], again["outcome"], again["comment"]) == (True, "resolved", "ok")
    no_ticket, _ = store.record(Vote(ana, "KB-0001", "b" * 40, None, True, None, None))
    assert no_ticket["ticket"] is None and no_ticket["commit"] == "b" * 40
    assert [r["id"] for r in store.for_ticket("INC0012345")] == [first["id"]]
    assert {r["commit"] for r in store.for_document("KB-0001")} == {"a" * 40, "b" * 40}


def test_flag_link_close_and_dismiss(engine: sa.Engine) -> None:
    flags = FlagStore(engine)
    users = UserStore(engine)
    ana, luis = users.get("ana").id, users.get("luis").id
    with engine.begin() as conn:
        now = sa.func.now()
        conn.execute(
            change_requests.insert().values(
                id=7,
                title="Fix",
                branch="change/7-fix",
                author_id=luis,
                state="approved",
                base_commit="a" * 40,
                head_commit="a" * 40,
                created_at=now,
                updated_at=now,
            )
        )
    flag = flags.raise_flag("KB-0002", ana, Reason.OUTDATED, "El paso 3 ya no existe", "INC0000001")
    other = flags.raise_flag("KB-0003", ana, Reason.UNCLEAR, "", None)
    assert flags.link(flag["id"], 7, luis)["state"] == "linked"
    assert flags.close_for_change(7, "c" * 40) == 1
    closed = flags.get(flag["id"])
    assert closed["state"] == "closed" and closed["resolution"].startswith("fixed by CR-7")
    dismissed = flags.dismiss(other["id"], luis, "Está claro en la sección 2")
    assert (dismissed["state"], dismissed["resolution"]) == ("dismissed", "Está claro en la sección 2")
    assert [f["id"] for f in flags.find(["open"])] == []


def test_deviation_review_and_report(engine: sa.Engine) -> None:
    store = DeviationStore(engine)
    users = UserStore(engine)
    ana, luis = users.get("ana").id, users.get("luis").id
    a = store.record(
        "SCR-0001", "3-pregunta-de-verificacion", "INC0000002", "El usuario ya estaba verificado", ana
    )
    b = store.record("SCR-0001", "3-pregunta-de-verificacion", None, "Sin teléfono", ana)
    store.record("SCR-0006", "2-encuesta", None, "Tenía prisa", ana)
    assert store.review(a["id"], True, luis, "Justificado")["state"] == "approved"
    assert store.review(b["id"], False, luis, "Use la verificación alternativa")["state"] == "rejected"
    assert store.report() == [
        {
            "script_id": "SCR-0001",
            "step": "3-pregunta-de-verificacion",
            "total": 2,
            "approved": 1,
            "rejected": 1,
            "pending": 0,
        },
        {
            "script_id": "SCR-0006",
            "step": "2-encuesta",
            "total": 1,
            "approved": 0,
            "rejected": 0,
            "pending": 1,
        },
    ]


def test_old_comments_are_purged(engine: sa.Engine) -> None:
    from kbserver.feedback.votes import purge_comments
    from kbserver.store.schema import feedback

    store = FeedbackStore(engine)
    ana = UserStore(engine).get("ana").id
    old, _ = store.record(Vote(ana, "KB-0001", "a" * 40, None, False, None, "nombre del usuario: Juan"))
    new, _ = store.record(Vote(ana, "KB-0002", "a" * 40, None, True, None, "reciente"))
    with engine.begin() as conn:
        conn.execute(
            feedback.update()
            .where(feedback.c.id == old["id"])
            .values(created_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    assert purge_comments(engine, 30) == 1
    assert store.get(old["id"])["comment"] is None and store.get(new["id"])["comment"] == "reciente"


def test_migration_5_backfills_weeks_of_existing_feedback(database_url: str) -> None:
    from kbserver.store.database import MIGRATIONS
    from kbserver.store.schema import users

    engine = connect(database_url)
    try:
        migrate(engine, MIGRATIONS[:4])
        with engine.begin() as conn:
            conn.execute(
                users.insert().values(
                    id=1,
                    name="ana",
                    display_name="Ana",
                    email="a@x",
                    role="operator",
                    disabled=False,
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                )
            )
            conn.execute(
                sa.text(
                    'INSERT INTO feedback (user_id, doc_id, "commit", ticket, helpful, created_at, '
                    "updated_at) VALUES (1, 'KB-0001', 'c1', 'INC0000001', true, :at, :at)"
                ),
                {"at": datetime(2026, 11, 12, 9, 0, tzinfo=UTC)},
            )
        assert migrate(engine) == [m[0] for m in MIGRATIONS[4:]]
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT week FROM feedback")) == "2026-11-09"
    finally:
        engine.dispose()
