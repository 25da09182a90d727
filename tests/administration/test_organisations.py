"""Roles are held per organisation: administration rights come only from where the
administrator role itself is held, and a person is listed by every organisation they belong to."""

import pytest

from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.identity.claims import Grant

pytestmark = pytest.mark.django_db

PARTNER, CLIENT = "org-partner", "org-client"


@pytest.fixture
def two_organisations(make_account):
    partner_person = make_account(sub="partner-person", org_id=PARTNER, roles=["partner_user"])
    client_person = make_account(sub="client-person", org_id=CLIENT, roles=["client_staff"])
    both = make_account(
        sub="in-both",
        roles=[],
        grants=[Grant("partner_user", PARTNER, "p.example"), Grant("client_staff", CLIENT, "c")],
    )
    for account in (partner_person, client_person, both):
        record(EventTag.SignIn.SUCCEEDED, account=account)
    return partner_person, client_person, both


@pytest.fixture
def partner_admin_also_client_staff(sign_in_as, make_account):
    viewer = make_account(
        sub="viewer",
        roles=[],
        grants=[
            Grant("partner_admin", PARTNER, "p.example"),
            Grant("client_staff", CLIENT, "c.example"),
        ],
    )
    return sign_in_as(["partner_admin", "client_staff"], account=viewer)


def test_partner_admin_who_is_client_staff_elsewhere_sees_only_the_partners_report(
    client, two_organisations, partner_admin_also_client_staff
):
    response = client.get("/admin/compliance/")
    assert response.status_code == 200
    listed = sorted(row.account.subject for row in response.context["rows"])
    assert listed == ["in-both", "partner-person", "viewer"]


def test_partner_admin_who_is_client_staff_elsewhere_exports_only_the_partners_rows(
    client, two_organisations, partner_admin_also_client_staff
):
    body = b"".join(client.get("/admin/compliance/export.csv").streaming_content).decode()
    assert "partner-person@example.test" in body
    assert "in-both@example.test" in body
    assert "client-person@example.test" not in body


def test_partner_admin_who_is_client_staff_elsewhere_sees_only_the_partners_events(
    client, two_organisations, partner_admin_also_client_staff
):
    response = client.get("/admin/events/")
    accounts = {e.account.subject for e in response.context["page"].rows if e.account}
    assert "client-person" not in accounts
    assert {"partner-person", "in-both"} <= accounts


def test_a_role_filter_counts_the_role_only_where_the_viewer_administers(
    client, two_organisations, partner_admin_also_client_staff
):
    # `in-both` and the viewer are client staff, but in the client organisation only.
    response = client.get("/admin/compliance/", {"role": "client_staff"})
    assert [row.account.subject for row in response.context["rows"]] == []
    response = client.get("/admin/compliance/", {"role": "partner_user"})
    listed = sorted(row.account.subject for row in response.context["rows"])
    assert listed == ["in-both", "partner-person"]


def test_a_person_is_listed_by_every_organisation_they_hold_a_role_in(
    client, sign_in_as, make_account, two_organisations
):
    admin = make_account(sub="client-admin", org_id=CLIENT, roles=["client_admin"])
    sign_in_as(["client_admin"], account=admin)
    listed = sorted(row.account.subject for row in client.get("/admin/compliance/").context["rows"])
    assert listed == ["client-admin", "client-person", "in-both"]


def test_lesser_roles_in_several_organisations_give_no_report(client, sign_in_as, make_account):
    viewer = make_account(
        sub="viewer",
        roles=[],
        grants=[Grant("client_staff", PARTNER, "p"), Grant("partner_user", CLIENT, "c")],
    )
    sign_in_as(["client_staff", "partner_user"], account=viewer)
    assert client.get("/admin/compliance/").status_code == 403
    assert client.get("/admin/events/").status_code == 403
