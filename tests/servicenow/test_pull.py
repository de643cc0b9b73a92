"""The incremental pull of the desk's incidents and the KPIs over all of them, checked against figures worked
out by hand from fixture incidents; on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kbserver.api.app import create_app
from kbserver.cli import main
from kbserver.feedback.catalog import report
from kbserver.feedback.votes import Vote
from kbserver.repository import ContentRepository
from kbserver.services import Services
from kbserver.settings import Settings
from kbserver.store.schema import servicenow_attachments, servicenow_incidents
from tests.api.conftest import PASSWORD, login
from tests.servicenow.conftest import connect_settings
from tests.servicenow.standin import StandIn


@pytest.fixture
def desk(
    tmp_path: Path, content_repo: ContentRepository, database_url: str, standin: StandIn
) -> Iterator[Services]:
    """The service's parts on the parametrised store, connected to a stand-in with the fixture incidents."""
    base = Settings(
        repo=content_repo.path, data_dir=tmp_path / "data", database_url=database_url, site_autobuild=False
    )
    services = Services.open(connect_settings(base, standin))
    services.catch_up_index()
    yield services
    services.close()


def seed(standin: StandIn) -> dict[str, str]:
    """Six incidents (see the figures in the tests); returns their sys_ids by number."""
    rows = [  # number, group, state, opened, resolved, reassignments
        ("INC0000001", "grp-desk", "6", "2026-11-02 08:00:00", "2026-11-02 10:00:00", 0),
        ("INC0000002", "grp-desk", "7", "2026-11-03 09:00:00", "2026-11-03 13:00:00", 1),
        ("INC0000003", "grp-desk", "2", "2026-11-04 08:00:00", "", 0),
        ("INC0000004", "grp-desk-en", "6", "2026-11-10 10:00:00", "2026-11-10 11:00:00", 0),
        ("INC0000005", "grp-desk", "2", "2026-11-10 12:00:00", "", 0),
        ("INC0000006", "grp-network", "6", "2026-11-03 08:00:00", "2026-11-03 09:00:00", 0),
    ]
    ids = {}
    for number, group, state, opened, resolved, moved in rows:
        ids[number] = standin.insert(
            "incident",
            number=number,
            short_description=f"case {number}",
            assignment_group=group,
            state=state,
            opened_at=opened,
            resolved_at=resolved,
            reassignment_count=moved,
            sys_updated_on=resolved or opened,
        )["sys_id"]
    stub = standin.insert("kb_knowledge", short_description="KB-0001: Restablecer la contraseña")
    theirs = standin.insert("kb_knowledge", number="KB0010001", short_description="Impresora atascada")
    standin.insert("m2m_kb_task", task=ids["INC0000001"], kb_knowledge=stub["sys_id"])
    standin.insert("m2m_kb_task", task=ids["INC0000004"], kb_knowledge=theirs["sys_id"])
    for number, score in (("INC0000001", 5), ("INC0000003", 2)):
        survey = standin.insert("asmt_assessment_instance", trigger_id=ids[number])
        standin.insert("asmt_metric_result", instance=survey["sys_id"], actual_value=score)
    return ids


def stored(services: Services) -> dict[str, tuple[str, str, bool]]:
    i = servicenow_incidents.c
    with services.engine.connect() as conn:
        rows = conn.execute(sa.select(i.number, i.state, i.close_code, i.left_desk)).all()
    return {r.number: (r.state, r.close_code, bool(r.left_desk)) for r in rows}


def test_the_incremental_pull_picks_up_changes_and_never_double_counts(
    desk: Services, standin: StandIn
) -> None:
    assert desk.servicenow is not None
    ids = seed(standin)
    first = desk.servicenow.incidents.pull()
    assert first.incidents == 5 and first.attachments == 2 and first.surveys == 2
    assert sorted(stored(desk)) == [f"INC000000{n}" for n in range(1, 6)]  # not the network group's
    standin.update(
        "incident", ids["INC0000001"], close_code="Solved (Permanently)", sys_updated_on="2026-11-20 09:00:00"
    )
    standin.update(
        "incident", ids["INC0000003"], assignment_group="grp-network", sys_updated_on="2026-11-20 09:05:00"
    )
    second = desk.servicenow.incidents.pull()
    # the changed one, the one the desk handed on, and the last second of the first pull, read again
    assert second.incidents == 3
    after = stored(desk)
    assert len(after) == 5
    assert after["INC0000001"] == ("6", "Solved (Permanently)", False)
    assert after["INC0000003"] == ("2", "", True)
    standin.update(
        "incident",
        ids["INC0000003"],
        state="6",
        resolved_at="2026-11-04 16:00:00",
        reassignment_count=1,
        sys_updated_on="2026-11-20 10:00:00",
    )
    desk.servicenow.incidents.pull()
    assert stored(desk)["INC0000003"] == ("6", "", True)
    again = desk.servicenow.incidents.pull()  # nothing changed: only the last second is read again
    assert again.incidents <= 1 and len(stored(desk)) == 5


def test_the_pull_reads_only_the_desks_attached_knowledge(desk: Services, standin: StandIn) -> None:
    assert desk.servicenow is not None
    ids = seed(standin)
    article = standin.insert("kb_knowledge", number="KB0010002", short_description="Switch caído")
    standin.insert("m2m_kb_task", task=ids["INC0000006"], kb_knowledge=article["sys_id"])  # the network's
    standin.insert("m2m_kb_task", task="not-an-incident-of-ours", kb_knowledge=article["sys_id"])
    first = desk.servicenow.incidents.pull()
    assert first.attachments == 2  # INC1's and INC4's: never the network group's, nor a stranger's
    reads = [r for r in standin.requests if r[2].endswith("/m2m_kb_task")]
    assert len(reads) == 1
    # An incident the desk escalated: Attached Knowledge added while it sits in another group is still read.
    standin.update("incident", ids["INC0000003"], assignment_group="grp-network")
    standin.insert("m2m_kb_task", task=ids["INC0000003"], kb_knowledge=article["sys_id"])
    second = desk.servicenow.incidents.pull()
    assert second.attachments >= 1
    with desk.engine.connect() as conn:
        rows = conn.execute(sa.select(servicenow_attachments.c.task_sys_id)).scalars().all()
    assert sorted(rows) == sorted([ids["INC0000001"], ids["INC0000004"], ids["INC0000003"]])


def test_kpis_over_every_resolved_incident_match_the_hand_figures(desk: Services, standin: StandIn) -> None:
    assert desk.servicenow is not None
    ids = seed(standin)
    desk.servicenow.incidents.pull()
    standin.update("incident", ids["INC0000003"], assignment_group="grp-network")
    desk.servicenow.incidents.pull()  # INC0000003 is still open here, so it is seen leaving the desk
    standin.update(
        "incident", ids["INC0000003"], state="6", resolved_at="2026-11-04 16:00:00", reassignment_count=1
    )
    desk.servicenow.incidents.pull()
    ana = desk.users.add("ana", "operator", None)
    desk.feedback.record(Vote(ana.id, "KB-0017", "c" * 40, "INC0000003", True, None, None))

    weeks = report(desk, "tickets", None, None)
    # week of 2 Nov: INC1 (2 h, KB-0001 attached, survey 5), INC2 (4 h, reassigned within the desk, nothing
    # attached), INC3 (8 h, escalated, KB-0017 linked here, survey 2); week of 9 Nov: INC4 (1 h, attached)
    assert weeks == [
        {
            "week": "2026-11-02",
            "tickets_closed": 3,
            "link_rate": 0.6667,
            "first_contact_resolution": 0.6667,
            "escalation_rate": 0.3333,
            "median_hours_to_resolve": 4.0,
            "satisfaction": 3.5,
            "surveys": 2,
        },
        {
            "week": "2026-11-09",
            "tickets_closed": 1,
            "link_rate": 1.0,
            "first_contact_resolution": 1.0,
            "escalation_rate": 0.0,
            "median_hours_to_resolve": 1.0,
            "satisfaction": None,
            "surveys": 0,
        },
    ]
    strict = Settings(**{**desk.settings.model_dump(), "servicenow_fcr_rule": "no_reassignment"})
    desk.settings = strict
    assert [w["first_contact_resolution"] for w in report(desk, "tickets", None, None)] == [0.3333, 1.0]

    articles = {r["article"]: r for r in report(desk, "ticket-articles", None, None)}
    assert sorted(articles) == ["KB-0001", "KB-0017", "KB0010001"]
    assert articles["KB-0001"] | {} == {
        "article": "KB-0001",
        "tickets_closed": 1,
        "link_rate": 0.25,
        "first_contact_resolution": 1.0,
        "escalation_rate": 0.0,
        "median_hours_to_resolve": 2.0,
        "satisfaction": 5.0,
        "surveys": 1,
    }
    assert (articles["KB-0017"]["escalation_rate"], articles["KB-0017"]["median_hours_to_resolve"]) == (
        1.0,
        8.0,
    )
    categories = {r["category"]: r["tickets_closed"] for r in report(desk, "ticket-categories", None, None)}
    assert categories == {"cuentas": 1, "correo": 1, "(other)": 1}


def test_the_reports_page_charts_the_ticket_kpis_per_week(desk: Services, standin: StandIn) -> None:
    assert desk.servicenow is not None
    seed(standin)
    desk.servicenow.incidents.pull()
    desk.users.add("lead1", "lead", PASSWORD)
    with TestClient(create_app(desk.settings, desk)) as client:
        desk.wait_for_background()
        login(client, "lead1")
        page = client.get("/app/reports").text
        english = client.get("/app/reports?lang=en").text
    assert "KPI de la mesa por semana (todos los tickets de ServiceNow)" in page
    assert "Desk KPIs per week (every ServiceNow ticket)" in english
    tickets = page.split("todos los tickets de ServiceNow)</h2>", 1)[1].split("</section>", 1)[0]
    # week of 2 Nov: INC1 and INC2 resolved, INC1 with an article, neither escalated; week of 9 Nov: INC4
    assert re.findall(r'class="label">([^<]+)<', tickets) == ["2026-11-02", "2026-11-09"]
    assert re.findall(r"<title>([^<]+)</title>", tickets) == ["50%", "100%", "0%", "100%", "100%", "0%"]
    assert "<script" not in tickets
    closed = page.split("Tickets cerrados por semana (ServiceNow)</h2>", 1)[1].split("</section>", 1)[0]
    assert re.findall(r"<title>([^<]+)</title>", closed) == ["2", "1"]


def test_kb_servicenow_check_and_pull(
    desk: Services, standin: StandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(standin)
    for name, value in desk.settings.model_dump().items():
        text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        monkeypatch.setenv(f"KB_{name.upper()}", text)
    assert main(["servicenow", "check"]) == 0
    assert "desk groups found: Service Desk, Service Desk EN" in capsys.readouterr().out
    assert main(["servicenow", "pull", "--json"]) == 0
    assert '"incidents": 5' in capsys.readouterr().out
    monkeypatch.setenv("KB_SERVICENOW_DESK_GROUPS", "Service Desk, Nobody")
    assert main(["servicenow", "check"]) == 2
    assert "not found in ServiceNow: Nobody" in capsys.readouterr().err
    monkeypatch.setenv("KB_SERVICENOW_PASSWORD", "wrong")
    assert main(["servicenow", "check"]) == 2
    assert "credentials were refused" in capsys.readouterr().err
