"""The requirement comes from every grant and from the role table in force on each request;
the dashboard and Settings show each role with its organisation."""

import pytest

from aidial_portal.identity.claims import Grant
from aidial_portal.mfa.evidence import Factor
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db


def test_tightening_the_role_policy_applies_on_the_next_request(client, sign_in_as, portal_config):
    sign_in_as(["client_staff"], evidence(enrolled=False, factor=None))
    assert client.get("/").status_code == 200
    portal_config(role_table={"client_staff": "required"})
    response = client.get("/")
    assert response.status_code == 302
    assert "/settings/" in response["Location"]


def test_the_strictest_grant_in_any_organisation_decides(client, sign_in_as, make_account):
    person = make_account(
        sub="two-orgs",
        roles=[],
        grants=[Grant("client_staff", "org-c", "c.example"), Grant("partner_admin", "org-p")],
    )
    sign_in_as(["client_staff", "partner_admin"], evidence(factor=None), account=person)
    assert client.get("/")["Location"].startswith("/settings/")


def test_dashboard_and_settings_show_each_role_with_its_organisation(
    client, sign_in_as, make_account
):
    person = make_account(
        sub="two-orgs",
        roles=[],
        grants=[
            Grant("client_staff", "org-c", "client.example"),
            Grant("partner_admin", "org-p", "partner.example"),
        ],
    )
    sign_in_as(["client_staff", "partner_admin"], evidence(factor=Factor.TOTP), account=person)
    dashboard = client.get("/").content.decode()
    assert "Client Staff in client.example" in dashboard
    assert "Partner Administrator in partner.example" in dashboard
    settings_page = client.get("/settings/").content.decode()
    assert "client.example" in settings_page
    assert "partner.example" in settings_page
