"""The connector against the stand-in: auth both ways, paging, failures as domain errors, no secrets said."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kbserver.errors import InvalidInput
from kbserver.servicenow.client import ServiceNowClient, ServiceNowError
from kbserver.servicenow.config import ServiceNowConfig
from kbserver.settings import Settings
from tests.servicenow.conftest import connect_settings
from tests.servicenow.standin import Fault, StandIn


def client_for(settings: Settings) -> ServiceNowClient:
    config = ServiceNowConfig.from_settings(settings)
    assert config is not None
    return ServiceNowClient(config)


def test_without_a_url_the_connector_is_off(settings: Settings) -> None:
    assert ServiceNowConfig.from_settings(settings) is None


def test_basic_auth_and_paging_by_link(settings: Settings, standin: StandIn) -> None:
    for n in range(25):
        standin.insert("incident", short_description=f"case {n}", assignment_group="grp-desk")
    client = client_for(connect_settings(settings, standin))
    found = list(
        client.records(
            "incident", "assignment_group.name=Service Desk^ORDERBYnumber", ("number",), page_size=10
        )
    )
    assert [r["number"] for r in found] == [f"INC{n:07d}" for n in range(1, 26)]
    pages = [r for r in standin.requests if r[2] == "/api/now/table/incident"]
    assert len(pages) == 3  # 10 + 10 + 5, following rel="next"
    client.close()


def test_oauth_client_credentials_and_a_revoked_token(settings: Settings, standin: StandIn) -> None:
    standin.insert("incident", short_description="x")
    client = client_for(
        connect_settings(
            settings,
            standin,
            servicenow_user="",
            servicenow_password="",
            servicenow_client_id=standin.client_id,
            servicenow_client_secret=standin.client_secret,
        )
    )
    assert client.first("incident", "number=INC0000001", ("number",)) == {"number": "INC0000001"}
    standin.tokens.clear()  # revoked before its time: one new token, then the call goes through
    assert client.first("incident", "number=INC0000001", ("number",)) == {"number": "INC0000001"}
    assert [r[2] for r in standin.requests].count("/oauth_token.do") == 2
    client.close()


def test_credentials_from_files(settings: Settings, standin: StandIn, tmp_path: Path) -> None:
    (tmp_path / "user").write_text(standin.user + "\n")
    (tmp_path / "password").write_text(standin.password + "\n")
    client = client_for(
        connect_settings(
            settings,
            standin,
            servicenow_user="",
            servicenow_password="",
            servicenow_user_file=str(tmp_path / "user"),
            servicenow_password_file=str(tmp_path / "password"),
        )
    )
    assert client.first("incident", "number=INC9") is None
    client.close()


def test_incomplete_credentials_are_refused(settings: Settings, standin: StandIn, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="KB_SERVICENOW_USER and KB_SERVICENOW_PASSWORD"):
        ServiceNowConfig.from_settings(connect_settings(settings, standin, servicenow_password=""))
    with pytest.raises(InvalidInput, match="cannot read"):
        ServiceNowConfig.from_settings(
            connect_settings(
                settings, standin, servicenow_password="", servicenow_password_file=str(tmp_path / "none")
            )
        )


def test_failures_are_domain_errors_that_never_name_the_secret(
    settings: Settings, standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(connect_settings(settings, standin))
    standin.faults.append(Fault(429, retry_after=7))
    with pytest.raises(ServiceNowError) as limited:
        client.first("incident", "number=INC1")
    assert (limited.value.http_status, limited.value.retry_after) == (429, 7)
    standin.faults.append(Fault(late=2.0))
    with pytest.raises(ServiceNowError, match="did not answer"):
        client.first("incident", "number=INC1")
    wrong = client_for(connect_settings(settings, standin, servicenow_password="not-the-password"))
    with pytest.raises(ServiceNowError, match="credentials were refused") as refused:
        wrong.first("incident", "number=INC1")
    standin.stop()
    with pytest.raises(ServiceNowError, match="cannot be reached"):
        client.first("incident", "number=INC1")
    said = (
        caplog.text
        + str(refused.value.as_json())
        + repr(ServiceNowConfig.from_settings(connect_settings(settings, standin)))
    )
    assert standin.password not in said and "not-the-password" not in said
    client.close()
    wrong.close()


def test_a_page_link_to_another_host_is_not_followed(settings: Settings, standin: StandIn) -> None:
    """The next page's link goes with the integration user's credentials: only to the instance itself."""
    for n in range(3):
        standin.insert("incident", short_description=f"case {n}")
    # Asked for by name, the stand-in links its pages by address: another origin.
    named = standin.url.replace("127.0.0.1", "localhost")
    client = client_for(connect_settings(settings, standin, servicenow_url=named))
    with pytest.raises(ServiceNowError, match="another host"):
        list(client.records("incident", "", ("number",), page_size=2))
    assert len([r for r in standin.requests if r[2] == "/api/now/table/incident"]) == 1
    client.close()


def test_paging_ends_on_a_full_last_page(settings: Settings, standin: StandIn) -> None:
    """Twenty records in pages of ten: the second page is full and has no rel="next", and it is the end; the
    pages are not read again by offset."""
    for n in range(20):
        standin.insert("incident", short_description=f"case {n}", assignment_group="grp-desk")
    client = client_for(connect_settings(settings, standin))
    found = list(client.records("incident", "ORDERBYnumber", ("number",), page_size=10))
    assert [r["number"] for r in found] == [f"INC{n:07d}" for n in range(1, 21)]
    assert len([r for r in standin.requests if r[2] == "/api/now/table/incident"]) == 2
    two = list(client.records("incident", "numberININC0000001,INC0000002", ("number",), page_size=2))
    assert len(two) == 2  # one full page and no Link at all: one more request, by offset, finds nothing
    client.close()
