"""The read-only records site (Django's admin at /admin/records/): AiDial administrators only,
behind the same MFA gate, and nothing can be added, changed or deleted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.mfa.policy import ROLE_REQUIREMENTS
from aidial_portal.records.site import site
from aidial_portal.support.models import SupportRequest
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db

ROOT = "/admin/records/"
CHANGELISTS = {
    "account": ROOT + "accounts/account/",
    "event": ROOT + "audit/securityevent/",
    "support": ROOT + "support/supportrequest/",
}
OTHER_ROLES = sorted(set(ROLE_REQUIREMENTS) - {"aidial_admin"})


@pytest.fixture
def records(make_account):
    person = make_account(sub="person", org_domain="acme.test")
    event = record(EventTag.SignIn.SUCCEEDED, account=person)
    request = SupportRequest.objects.create(
        account=person, subject="Lost my phone", message="Please help", created_at=timezone.now()
    )
    return {"account": person, "event": event, "support": request}


@pytest.fixture
def administrator(sign_in_as):
    return sign_in_as(["aidial_admin"], sub="admin")


def _change_url(kind: str, records) -> str:
    return f"{CHANGELISTS[kind]}{records[kind].pk}/change/"


def test_aidial_admin_sees_accounts_events_and_support_requests(client, administrator, records):
    index = client.get(ROOT)
    assert index.status_code == 200
    for path in CHANGELISTS.values():
        assert path.encode() in index.content

    assert b"person@example.test" in client.get(CHANGELISTS["account"]).content
    assert b"sign_in_succeeded" in client.get(CHANGELISTS["event"]).content
    assert b"Lost my phone" in client.get(CHANGELISTS["support"]).content


@pytest.mark.parametrize("kind", sorted(CHANGELISTS))
def test_records_open_read_only(client, administrator, records, kind):
    page = client.get(_change_url(kind, records))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b"deletelink" not in page.content
    assert b'<input type="text"' not in page.content
    assert b"<textarea" not in page.content


@pytest.mark.parametrize("kind", sorted(CHANGELISTS))
def test_nothing_can_be_added(client, administrator, records, kind):
    model = type(records[kind])
    before = model.objects.count()
    assert client.get(CHANGELISTS[kind] + "add/").status_code == 403
    assert client.post(CHANGELISTS[kind] + "add/", {"subject": "x"}).status_code == 403
    assert model.objects.count() == before


def test_an_account_cannot_be_changed(client, administrator, records):
    person = records["account"]
    response = client.post(
        _change_url("account", records), {"login_name": "changed@acme.test", "_save": "Save"}
    )
    assert response.status_code == 403
    person.refresh_from_db()
    assert person.login_name == "person@example.test"


@pytest.mark.parametrize("kind", sorted(CHANGELISTS))
def test_nothing_can_be_deleted(client, administrator, records, kind):
    model = type(records[kind])
    url = f"{CHANGELISTS[kind]}{records[kind].pk}/delete/"
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=records[kind].pk).exists()


@pytest.mark.parametrize("kind", sorted(CHANGELISTS))
def test_there_is_no_delete_selected_action(client, administrator, records, kind):
    changelist = client.get(CHANGELISTS[kind])
    assert b"delete_selected" not in changelist.content
    client.post(
        CHANGELISTS[kind],
        {"action": "delete_selected", "_selected_action": [records[kind].pk], "post": "yes"},
    )
    assert type(records[kind]).objects.filter(pk=records[kind].pk).exists()
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize("role", OTHER_ROLES)
@pytest.mark.parametrize("path", [ROOT, CHANGELISTS["account"], CHANGELISTS["event"]])
def test_every_other_role_is_refused(client, sign_in_as, records, role, path):
    sign_in_as([role], evidence(), sub="viewer")  # with MFA: refused for the role alone
    response = client.get(path)
    assert response.status_code == 403
    assert b"person@example.test" not in response.content
    assert b"for AiDial administrators" in response.content


def test_aidial_operator_with_mfa_is_refused(client, sign_in_as, records):
    sign_in_as(["aidial_operator"], evidence(), sub="operator")
    response = client.get(CHANGELISTS["account"])
    assert response.status_code == 403
    assert b"for AiDial administrators" in response.content


def test_aidial_admin_without_mfa_is_sent_to_settings(client, sign_in_as, records):
    sign_in_as(["aidial_admin"], evidence(enrolled=False, factor=None), sub="admin")
    response = client.get(CHANGELISTS["account"])
    assert response.status_code == 302
    assert response["Location"].startswith("/settings/?next=")


def test_a_stale_mfa_check_is_refused_even_if_the_gate_were_bypassed(
    rf, sign_in_as, client, records
):
    sign_in_as(["aidial_admin"], evidence(at=timezone.now() - timedelta(days=2)))
    request = rf.get(ROOT)
    request.session = client.session
    assert site.has_permission(request) is False
    with pytest.raises(PermissionDenied, match="for AiDial administrators"):
        site.admin_view(site.index)(request)  # handler403 turns it into the 403 page


def test_signed_out_visitors_are_sent_to_sign_in(client, records):
    response = client.get(CHANGELISTS["account"])
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_the_sessions_roles_decide_not_the_account_row(client, make_account, sign_in_as, records):
    """No is_staff, and not the roles stored on the account: the signed-in session's roles."""
    account = make_account(sub="was-admin", roles=["aidial_admin"])
    sign_in_as(["client_staff"], account=account)
    response = client.get(CHANGELISTS["account"])
    assert response.status_code in {302, 403}
    assert b"person@example.test" not in response.content


def test_records_show_times_in_the_portals_zone_and_events_in_words(client, administrator, records):
    events = client.get(CHANGELISTS["event"]).content.decode()
    assert re.search(r"\d{2}:\d{2} AE[DS]T", events)
    assert "Signed in" in events
    account = client.get(_change_url("account", records)).content.decode()
    assert " UTC" not in account
