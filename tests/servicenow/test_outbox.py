"""Feedback on a ticket reaches ServiceNow through the outbox: once, with the article's version, whatever
the instance does meanwhile; on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.feedback.votes import Vote
from kbserver.servicenow.delivery import OutboxWorker, deliver_all
from kbserver.servicenow.outbox import Outbox, begin_intake, end_intake, enqueue, intake_on
from kbserver.services import Services
from kbserver.settings import Settings
from kbserver.store import connect, migrate
from kbserver.store.schema import servicenow_outbox
from tests.servicenow.conftest import FEEDBACK, feedback, running, until
from tests.servicenow.standin import Fault, StandIn


def test_one_work_note_and_one_attachment_through_failures_downtime_and_a_restart(
    linked: Settings, standin: StandIn
) -> None:
    incident = standin.rows("incident")[0]["sys_id"]
    standin.faults += [Fault(500, methods=("GET",)), Fault(late=2.0, methods=("PATCH",))]
    with running(linked) as (services, client, auth):
        assert services.servicenow is not None
        feedback(client, auth["ana"])
        feedback(client, auth["ana"])  # the same link again: still one entry
        # the first try meets a 500; the second writes the note, but its answer comes after the timeout
        until(lambda: services.servicenow and services.servicenow.outbox.entries()[0]["attempts"] >= 2)
        assert len(standin.work_notes(incident)) == 1
        standin.stop()  # down for a while: feedback is still answered at once
        assert feedback(client, auth["ana"], {**FEEDBACK, "helpful": False}) < 1.0
        until(lambda: services.servicenow and services.servicenow.outbox.entries()[0]["attempts"] >= 3)
        assert services.servicenow.outbox.counts()["pending"] == 1
    standin.start()  # back up while the service is stopped; the service starts again on the same store
    with running(linked) as (services, client, auth):
        assert services.servicenow is not None
        until(lambda: services.servicenow and services.servicenow.outbox.counts()["delivered"] == 1)
    notes = standin.work_notes(incident)
    assert len(notes) == 1
    attached = standin.rows("m2m_kb_task", task=incident)
    assert len(attached) == 1
    stub = standin.rows("kb_knowledge", sys_id=attached[0]["kb_knowledge"])[0]
    assert stub["short_description"].startswith("KB-0001: ")
    assert "https://kb.example.test/" in stub["text"]


def _environment(settings: Settings) -> dict[str, str]:
    """The environment that gives a `kb` command these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        env[f"KB_{name.upper()}"] = text
    return env


def test_a_worker_killed_after_writing_the_note_leaves_one_note(linked: Settings, standin: StandIn) -> None:
    """No step is recorded before the work note is written: the lease a killed worker leaves says that the
    note may be there, and the next worker looks for it rather than write it again."""
    incident = standin.rows("incident")[0]["sys_id"]
    slow = linked.model_copy(update={"servicenow_timeout": 30.0})
    services = Services.open(linked)
    services.catch_up_index()  # the work note names the article's title, from the index
    services.close()
    engine = connect(linked.database_url)
    with engine.begin() as conn:
        enqueue(conn, "INC0000001", "KB-0001", "c" * 40, "/kb/x/")
    standin.faults.append(Fault(late=30.0, methods=("PATCH",)))  # the note is written; the answer is late
    kb = [str(Path(sys.executable).with_name("kb")), "servicenow", "deliver", "--seconds", "60"]
    env = _environment(slow)
    worker = subprocess.Popen(kb, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until(lambda: standin.work_notes(incident))
    finally:
        worker.kill()
        worker.wait()
    o = servicenow_outbox.c
    with engine.begin() as conn:  # the killed worker's lease runs out
        ((attempts, lease),) = conn.execute(sa.select(o.attempts, o.lease_until)).all()
        assert attempts == 0 and lease is not None
        conn.execute(servicenow_outbox.update().values(lease_until=sa.func.current_timestamp()))
    done = subprocess.run(kb, env=_environment(slow), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert Outbox(engine, 5, 1.0).counts()["delivered"] == 1
    engine.dispose()
    assert len(standin.work_notes(incident)) == 1
    assert len(standin.rows("m2m_kb_task", task=incident)) == 1


def test_a_new_vote_is_linked_by_intake_on_sqlite_and_in_its_own_transaction_on_postgresql(
    linked: Settings, standin: StandIn
) -> None:
    """On SQLite a new vote writes only its feedback row (the outbox row cost votes 5% of their CPU time), and
    the delivery takes it in when it claims work; it counts as pending meanwhile. PostgreSQL, whose ids may
    commit out of order, links it in the vote's transaction. A changed vote is linked in its own on both."""
    services = Services.open(linked)
    try:
        assert services.servicenow is not None
        begin_intake(services.engine)  # as the service's start does
        ana = services.users.add("ana", "operator", None)
        box, link = services.servicenow.outbox, services.ticket_link("/kb/x/")

        def vote(commit: str) -> None:
            services.feedback.record(Vote(ana.id, "KB-0001", commit, "INC0000001", True, None, None), link)

        vote("a" * 40)
        listed = [e["commit"] for e in box.entries()]
        assert listed == ([] if intake_on(services.engine) else ["a" * 40])
        assert box.counts()["pending"] == 1
        (claimed,) = box.claim(50, 60.0)
        assert (claimed.ticket, claimed.doc_id, claimed.commit) == ("INC0000001", "KB-0001", "a" * 40)
        assert box.claim(50, 60.0) == [] and box.counts()["pending"] == 1  # taken in once, and leased
        vote("b" * 40)  # the same operator, ticket and document, another version: an update
        assert sorted(e["commit"] for e in box.entries()) == ["a" * 40, "b" * 40]
        assert box.counts()["pending"] == 2
    finally:
        services.close()


def test_votes_given_while_the_integration_is_off_are_never_linked(
    linked: Settings, standin: StandIn
) -> None:
    """As before intake: a start with the integration off takes in the votes given while it was on (a service
    stopped before its delivery took them in), and the votes given while it is off are never linked."""
    for _ in range(2):
        standin.insert("incident", short_description="Otro caso", assignment_group="grp-desk")
    off = linked.model_copy(update={"servicenow_url": ""})
    services = Services.open(linked)
    try:
        begin_intake(services.engine)
        ana = services.users.add("ana", "operator", None)
        services.users.add("root", "admin", None)
        for ticket, settings in (("INC0000001", linked), ("INC0000002", off)):
            link = services.ticket_link("/kb/x/") if settings is linked else None
            services.feedback.record(Vote(ana.id, "KB-0001", "a" * 40, ticket, True, None, None), link)
            if settings is linked:
                end_intake(services.engine)  # as a start with the integration off does
    finally:
        services.close()
    with running(linked) as (services, client, auth):
        feedback(client, auth["ana"], {**FEEDBACK, "ticket": "INC0000003"})
        assert services.servicenow is not None
        until(lambda: services.servicenow and services.servicenow.outbox.counts()["delivered"] == 2)
        assert services.servicenow.outbox.counts()["pending"] == 0
        tickets = sorted(e["ticket"] for e in services.servicenow.outbox.entries())
    assert tickets == ["INC0000001", "INC0000003"]
    assert [len(standin.work_notes(i["sys_id"])) for i in standin.rows("incident")] == [1, 0, 1]


def test_the_work_note_names_the_article_its_version_and_its_link(linked: Settings, standin: StandIn) -> None:
    incident = standin.rows("incident")[0]["sys_id"]
    with running(linked) as (services, client, auth):
        feedback(client, auth["ana"])
        assert services.servicenow is not None
        until(lambda: services.servicenow and services.servicenow.outbox.counts()["delivered"] == 1)
        read = client.get("/api/documents/KB-0001/tickets", headers={"Authorization": auth["ana"]}).json()
        commit = read["tickets"][0]["commit"]
        page = services.search.lookup("KB-0001") or {}
    (note,) = standin.work_notes(incident)
    assert "KB-0001" in note and str(page["title"]) in note
    assert f"commit {commit}" in note
    assert f"https://kb.example.test{page['url']}" in note


def test_delivery_keeps_to_its_rate_and_the_cli_drain_does_not(linked: Settings, standin: StandIn) -> None:
    paced = linked.model_copy(update={"servicenow_rate": 4.0, "servicenow_mirror_articles": False})
    with running(paced) as (services, client, auth):
        for n in range(1, 6):  # five articles on one ticket: five links
            feedback(client, auth["ana"], {**FEEDBACK, "document_id": f"KB-{n:04d}"})
        assert services.servicenow is not None
        until(lambda: services.servicenow and services.servicenow.outbox.counts()["delivered"] == 5)
    notes = [r[0] for r in standin.requests if r[1] == "PATCH"]
    assert len(notes) == 5
    assert notes[-1] - notes[0] >= 4 / 4.0 - 0.05  # five links at four a second: a second from first to last

    standin.requests.clear()
    with running(paced) as (services, client, auth):
        assert services.servicenow is not None
        services.servicenow.stop()  # only the drain below delivers, as `kb servicenow deliver` would
        for n in range(6, 11):
            feedback(client, auth["ana"], {**FEEDBACK, "document_id": f"KB-{n:04d}"})
        drain = OutboxWorker(services.servicenow.worker.delivery, rate=1.0)
        deliver_all(drain, time.monotonic() + 30)
        assert services.servicenow.outbox.counts()["delivered"] == 10
    drained = [r[0] for r in standin.requests if r[1] == "PATCH"]
    assert len(drained) == 5 and drained[-1] - drained[0] < 0.9  # `kb servicenow deliver`: at full speed


def test_a_429_is_waited_out_as_asked_and_is_no_failed_try(linked: Settings, standin: StandIn) -> None:
    standin.faults.append(Fault(429, retry_after=1, methods=("GET",)))
    with running(linked) as (services, client, auth):
        feedback(client, auth["ana"])
        assert services.servicenow is not None
        until(lambda: services.servicenow and services.servicenow.outbox.counts()["delivered"] == 1)
        assert services.servicenow.outbox.entries()[0]["attempts"] == 0
    throttled = next(r for r in standin.requests if r[3] == 429)
    after = [r for r in standin.requests if r[0] > throttled[0] and r[2] != "/oauth_token.do"]
    assert after and after[0][0] - throttled[0] >= 1.0


def test_dead_letters_are_shown_to_admins_and_retried(linked: Settings, standin: StandIn) -> None:
    linked = Settings(**{**linked.model_dump(), "servicenow_max_attempts": 2})
    body = {**FEEDBACK, "ticket": "INC0000042"}  # not in ServiceNow (yet)
    with running(linked) as (services, client, auth):
        feedback(client, auth["ana"], body)
        assert services.servicenow is not None
        until(lambda: services.servicenow and services.servicenow.outbox.counts()["dead"] == 1)
        admin = {"Authorization": auth["root"]}
        assert client.get("/api/servicenow/outbox", headers={"Authorization": auth["ana"]}).status_code == 403
        listed = client.get("/api/servicenow/outbox?state=dead", headers=admin).json()
        (dead,) = listed["entries"]
        assert dead["ticket"] == "INC0000042" and "no ticket INC0000042" in dead["last_error"]
        page = client.get("/app/servicenow", headers=admin)
        assert page.status_code == 200 and "INC0000042" in page.text
        incident = standin.insert("incident", number="INC0000042", assignment_group="grp-desk")["sys_id"]
        retried = client.post(f"/api/servicenow/outbox/{dead['id']}/retry", headers=admin)
        assert retried.status_code == 200 and retried.json()["state"] == "pending"
        until(lambda: services.servicenow and services.servicenow.outbox.counts()["delivered"] == 1)
        again = client.post(f"/api/servicenow/outbox/{dead['id']}/retry", headers=admin)
        assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert len(standin.work_notes(incident)) == 1


def test_without_servicenow_feedback_is_as_before(services: Services) -> None:
    assert services.servicenow is None
    services.users.add("root", "admin", None)
    token = services.users.new_token("root", "t")[1]
    with TestClient(create_app(services.settings, services)) as client:
        services.wait_for_background()
        answer = client.get("/api/servicenow/outbox", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404 and "KB_SERVICENOW_URL" in answer.json()["error"]["message"]


def test_workers_claiming_at_once_never_share_an_entry(database_url: str) -> None:
    """Four threads, each with its own engine (as several processes would), claim from one outbox: every entry
    is leased to exactly one of them, and all are leased."""
    engine = connect(database_url)
    migrate(engine)
    with engine.begin() as conn:
        for n in range(120):
            enqueue(conn, f"INC{n:07d}", "KB-0001", "c" * 40, "/kb/x/")
    claimed: list[list[int]] = []
    start = threading.Barrier(4)

    def claim_all() -> None:
        mine: list[int] = []
        outbox = Outbox(connect(database_url), max_attempts=5, first_delay=1.0)
        start.wait()
        while entries := outbox.claim(7, 60.0):
            mine += [e.id for e in entries]
        outbox.engine.dispose()
        claimed.append(mine)

    threads = [threading.Thread(target=claim_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [entry for mine in claimed for entry in mine]
    assert len(claimed) == 4 and len(every) == 120 and len(set(every)) == 120
    engine.dispose()
