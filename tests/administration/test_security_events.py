"""The security event viewer: scoped like the report, filtered, paged; never editable."""

from datetime import UTC, datetime, timedelta

import pytest

from aidial_portal.administration import views
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.models import AppendOnlyError, SecurityEvent
from aidial_portal.audit.recording import record
from aidial_portal.mfa.policy import ROLE_REQUIREMENTS
from tests.administration.conftest import ACME, GLOBEX
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db

ALL_ROLES = sorted(ROLE_REQUIREMENTS)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def events(make_account):
    acme = make_account(sub="acme-user", org_id=ACME)
    globex = make_account(sub="globex-user", org_id=GLOBEX)
    record(EventTag.SignIn.SUCCEEDED, account=acme, at=T0)
    record(
        EventTag.Session.GATE_DENIED,
        account=acme,
        reason="not_enrolled",
        at=T0 + timedelta(hours=1),
    )
    record(EventTag.SignIn.SUCCEEDED, account=globex, at=T0 + timedelta(hours=2))
    record(EventTag.SignIn.REJECTED, reason="bad_signature", at=T0 + timedelta(hours=3))
    return acme, globex


def listed(response):
    return [
        (e.event_type, e.account.subject if e.account else None)
        for e in response.context["page"].rows
    ]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_events_are_scoped_by_role(client, sign_in_as, events, role):
    sign_in_as([role], sub="viewer", org_id=ACME)
    before = SecurityEvent.objects.count()
    response = client.get("/admin/events/")
    if role in {"aidial_admin", "aidial_operator"}:
        assert response.status_code == 200
        assert len(listed(response)) == before
        assert ("sign_in_rejected", None) in listed(response)
    elif role in {"partner_admin", "client_admin"}:
        assert response.status_code == 200
        assert listed(response) == [
            ("gate_denied", "acme-user"),
            ("sign_in_succeeded", "acme-user"),
        ]
    else:
        assert response.status_code == 403


def test_filters_by_account_type_and_time(client, sign_in_as, events):
    sign_in_as(["aidial_operator"], sub="viewer")
    by_account = client.get("/admin/events/", {"account": "globex-user@example.test"})
    assert listed(by_account) == [("sign_in_succeeded", "globex-user")]
    by_type = client.get("/admin/events/", {"event_type": "gate_denied"})
    assert listed(by_type) == [("gate_denied", "acme-user")]
    # In the portal's zone: Sydney is UTC+11 (AEDT) on 1 March 2026.
    by_time = client.get(
        "/admin/events/", {"since": "2026-03-01T20:30", "until": "2026-03-01T22:30"}
    )
    assert listed(by_time) == [("sign_in_succeeded", "globex-user"), ("gate_denied", "acme-user")]


def test_page_is_accessible_and_shows_tags_only(client, sign_in_as, events):
    sign_in_as(["aidial_admin"], sub="viewer")
    body = client.get("/admin/events/").content.decode()
    assert "<caption>Security events, newest first</caption>" in body
    assert '<th scope="col">Event</th>' in body
    assert '<label for="id_event_type">Event type</label>' in body
    assert '<label for="id_since">From (AEDT)</label>' in body or (
        '<label for="id_since">From (AEST)</label>' in body
    )
    assert "<td>bad signature</td>" in body
    assert "Sign-in refused" in body
    assert "sign_in_rejected</" not in body


def test_events_page_newest_first(client, sign_in_as, events, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    sign_in_as(["aidial_admin"], sub="viewer")
    first = client.get("/admin/events/", {"until": "2026-03-02"})
    assert listed(first) == [("sign_in_rejected", None), ("sign_in_succeeded", "globex-user")]
    second = client.get(
        "/admin/events/", {"until": "2026-03-02", "after": first.context["page"].next_cursor}
    )
    assert listed(second) == [("gate_denied", "acme-user"), ("sign_in_succeeded", "acme-user")]
    assert second.context["page"].next_cursor is None
    assert b"until=2026-03-02" in second.content  # links keep the filters


def test_non_compliant_administrator_is_stopped_by_the_gate(client, sign_in_as):
    sign_in_as(["aidial_operator"], evidence(enrolled=True, factor=None))
    assert client.get("/admin/events/")["Location"].startswith("/settings/")


def test_viewer_offers_no_way_to_change_events(client, sign_in_as, events):
    sign_in_as(["aidial_admin"], sub="viewer")
    assert client.post("/admin/events/").status_code == 405
    event = SecurityEvent.objects.first()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        SecurityEvent.objects.all().delete()


def test_events_read_in_plain_language_not_tags(client, sign_in_as, make_account):
    account = make_account(sub="acme-user", org_id=ACME)
    record(
        EventTag.SignIn.SUCCEEDED,
        account=account,
        details={"factor": "totp", "requirement": "required", "status": "compliant"},
        at=T0,
    )
    record(
        EventTag.SignIn.SUCCEEDED,
        account=account,
        details={"factor": None, "status": "not_enrolled"},
        at=T0,
    )
    record(
        EventTag.Administration.REPORT_EXPORTED,
        account=account,
        reason="mfa_compliance",
        details={"scope": "all", "status": None, "role": None, "organisation_filter": False},
        at=T0,
    )
    record(EventTag.Directory.SYNCED, details={"people": 12, "created": 3}, at=T0)
    sign_in_as(["aidial_admin"], sub="viewer", org_id=ACME)

    page = client.get("/admin/events/").content.decode()

    assert "<td>With an authenticator app; MFA required; status: compliant</td>" in page
    assert "<td>Without MFA; status: not enrolled</td>" in page
    assert "<td>The MFA compliance report of all organisations</td>" in page
    assert "<td>12 people, 3 new</td>" in page
    assert "Directory synchronised from Zitadel" in page
    for tag in ("sign_in_succeeded", "organisation_filter", "factor=None", "=False"):
        assert tag not in page.split("<tbody>")[1]
