"""The Help page shows the role table in force: the user guide's titles, and each role's
requirement as `AIDIAL_ROLE_POLICY` configures it."""

import re

import pytest

from tests.support.portal import evidence

pytestmark = pytest.mark.django_db

GUIDE_TABLE = [
    ("Client Administrator (client_admin)", "Optional"),
    ("Partner Administrator (partner_admin)", "Required"),
    ("AiDial Administrator (aidial_admin)", "Required"),
    ("AiDial Operator (aidial_operator)", "Required"),
    ("Client Manager (client_manager)", "Optional"),
    ("Client Staff (client_staff)", "Optional"),
    ("Partner User (partner_user)", "Optional"),
]


def role_rows(client):
    html = client.get("/help/").content.decode()
    section = html[html.index('id="roles"') : html.index('id="factors"')]
    return re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", section)


def disabling_text(client):
    html = " ".join(client.get("/help/").content.decode().split())
    return html[html.index('id="disabling"') : html.index('id="support"')]


def test_help_shows_the_user_guides_role_table_by_default(client):
    assert role_rows(client) == GUIDE_TABLE
    assert "Roles that require MFA (partner_admin, aidial_admin, aidial_operator) cannot" in (
        disabling_text(client)
    )


def test_help_follows_the_configured_role_policy(client, portal_config):
    portal_config(role_table={"client_staff": "required", "auditor": "optional"})
    rows = role_rows(client)
    assert ("Client Staff (client_staff)", "Required") in rows
    assert ("Partner Administrator (partner_admin)", "Required") in rows
    assert rows[-1] == ("auditor", "Optional")  # a role the table has no title for
    required = "partner_admin, aidial_admin, aidial_operator, client_staff"
    assert f"Roles that require MFA ({required}) cannot" in disabling_text(client)


def test_help_says_when_the_policy_relaxes_a_role(client, portal_config):
    portal_config(role_table={"partner_admin": "optional"})
    assert ("Partner Administrator (partner_admin)", "Optional") in role_rows(client)
    assert "partner_admin" not in disabling_text(client)


def test_a_role_missing_from_the_table_is_granted_no_reports(client, sign_in_as, portal_config):
    portal_config(role_table={"auditor": "optional"})
    sign_in_as(["auditor"], evidence(enrolled=False, factor=None), sub="auditor")
    assert client.get("/").status_code == 200  # a portal role by the policy...
    assert client.get("/admin/compliance/").status_code == 403  # ...with no permissions
    assert client.get("/admin/events/").status_code == 403
    assert client.get("/support/requests/").status_code == 403
