"""The Support page: open to every signed-in person, refusing secrets without keeping them."""

import logging

import pytest

from aidial_portal.audit.models import SecurityEvent
from aidial_portal.mfa.policy import ROLE_REQUIREMENTS
from aidial_portal.support.models import SupportRequest
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db

ALL_ROLES = sorted(ROLE_REQUIREMENTS)
READERS = {"aidial_admin", "aidial_operator"}
SECRET = "My recovery code K7MPQ-X3RTW does not work"


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_can_send_a_request(client, sign_in_as, role):
    account = sign_in_as([role])
    page = client.get("/support/")
    assert page.status_code == 200
    assert b'<label for="id_subject">Subject</label>' in page.content
    assert b'<label for="id_message">Message</label>' in page.content
    response = client.post("/support/", {"subject": "Cannot export", "message": "It fails."})
    assert response.status_code == 302
    stored = SupportRequest.objects.get()
    assert (stored.account_id, stored.subject, stored.message) == (
        account.pk,
        "Cannot export",
        "It fails.",
    )
    event = SecurityEvent.objects.get(event_type="support_request_sent")
    assert event.details == {"support_request": stored.pk}
    assert b"your request was saved in the portal" in client.get(response["Location"]).content


def test_locked_out_partner_admin_can_still_ask_for_help(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    assert client.get("/").status_code == 302  # the gate sends them to Settings...
    assert client.get("/support/").status_code == 200  # ...but Support stays open
    client.post("/support/", {"subject": "Locked out", "message": "Lost my phone."})
    assert SupportRequest.objects.count() == 1


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/support/")
    assert response["Location"].startswith("/login/")
    assert client.post("/support/", {"subject": "x", "message": "y"}).status_code == 401


def test_secret_is_refused_kept_in_the_form_and_stored_nowhere(client, sign_in_as, caplog):
    account = sign_in_as(["client_staff"])
    caplog.set_level(logging.DEBUG)
    response = client.post("/support/", {"subject": "Help", "message": SECRET})
    assert response.status_code == 200
    body = response.content.decode()
    assert "appears to contain a recovery code" in body
    assert "regenerate your recovery codes" in body  # what to do instead
    assert SECRET in body  # still in the form, for editing
    assert SupportRequest.objects.count() == 0
    refused = SecurityEvent.objects.get(event_type="support_request_refused")
    assert (refused.account_id, refused.reason, refused.details) == (
        account.pk,
        "recovery_code",
        {},
    )
    for event in SecurityEvent.objects.all():
        assert "K7MPQ" not in repr(event.__dict__)
    assert "K7MPQ" not in caplog.text


def test_secret_in_the_subject_is_refused_too(client, sign_in_as):
    sign_in_as(["client_staff"])
    response = client.post("/support/", {"subject": "OTP: 482913", "message": "Please help"})
    assert b"appears to contain a one-time code" in response.content
    assert SupportRequest.objects.count() == 0


def test_refusal_page_is_not_cached(client, sign_in_as):
    sign_in_as(["client_staff"])
    response = client.post("/support/", {"subject": "Help", "message": SECRET})
    assert response["Cache-Control"] == "no-store"


def test_empty_fields_are_explained(client, sign_in_as):
    sign_in_as(["client_staff"])
    response = client.post("/support/", {"subject": "", "message": ""})
    assert response.content.count(b"This field is required.") == 2
    assert SupportRequest.objects.count() == 0


def test_settings_links_to_support(client, sign_in_as):
    sign_in_as(["client_staff"])
    assert b'<a href="/support/">Support</a>' in client.get("/settings/").content


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_aidial_staff_read_the_requests(client, sign_in_as, make_account, role):
    sender = make_account(sub="sender", org_domain="acme.example")
    SupportRequest.objects.create(
        account=sender,
        subject="Export broken",
        message="Line one\nline two",
        created_at="2026-03-01T00:00Z",
    )
    sign_in_as([role])
    response = client.get("/support/requests/")
    if role in READERS:
        assert response.status_code == 200
        assert b"Export broken" in response.content
        assert b"Line one<br>line two" in response.content
        assert b"sender@example.test" in response.content
        assert b'<th scope="col">Subject</th>' in response.content
    else:
        assert response.status_code == 403
        assert b"Export broken" not in response.content


def test_request_list_needs_a_compliant_session(client, sign_in_as):
    sign_in_as(["aidial_operator"], evidence(enrolled=True, factor=None))
    assert client.get("/support/requests/")["Location"].startswith("/settings/")


def test_request_list_pages_newest_first(client, sign_in_as, make_account, monkeypatch):
    from aidial_portal.support import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    sender = make_account(sub="sender")
    for day in range(1, 6):
        SupportRequest.objects.create(
            account=sender,
            subject=f"Request {day}",
            message="m",
            created_at=f"2026-03-0{day}T00:00Z",
        )
    sign_in_as(["aidial_admin"])
    first = client.get("/support/requests/")
    assert first.context["page"].rows[0].subject == "Request 5"
    cursor = first.context["page"].next_cursor
    second = client.get("/support/requests/", {"after": cursor})
    assert [r.subject for r in second.context["page"].rows] == ["Request 3", "Request 2"]
