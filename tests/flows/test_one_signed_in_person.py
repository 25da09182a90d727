"""One notion of "signed in": the session's sign-in, on every page and in every event.

Signing in on another device (another browser) must not sign this one out, on any page, and
every event written while someone is signed in names their account."""

from __future__ import annotations

import pytest
from django.test import Client

from aidial_portal.audit.models import SecurityEvent
from tests.flows.conftest import callback_path
from tests.support.idp import HostedLogin

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.idp]

PAGES = ("/", "/settings/", "/help/", "/support/", "/admin/compliance/", "/admin/events/")


def sign_in_on_another_device(local_idp, who) -> Client:
    other = Client()
    with HostedLogin(local_idp) as browser:
        start = other.post("/login/")
        final = browser.authorize(start["Location"], who.login, who.password)
        assert other.get(callback_path(final)).status_code == 302
    return other


@pytest.fixture
def signed_in_twice(client, sign_in, person, local_idp):
    who = person("client_admin", org="org-one-person")
    assert sign_in(who).status_code == 302
    other = sign_in_on_another_device(local_idp, who)
    return who, other


def test_signing_in_on_another_device_keeps_this_session_working_on_every_page(
    client, signed_in_twice
):
    _, other = signed_in_twice
    # Real sign-ins are never coalesced with one another.
    assert SecurityEvent.objects.filter(event_type="sign_in_succeeded").count() == 2
    for device in (client, other):
        for path in PAGES:
            response = device.get(path)
            assert response.status_code == 200, (path, response.get("Location"))
            assert b"Sign out" in response.content, path


def test_a_support_request_after_another_sign_in_is_recorded_with_its_account(
    client, signed_in_twice
):
    response = client.post(
        "/support/", {"subject": "Lost phone", "message": "I replaced my phone yesterday."}
    )
    assert response.status_code == 302
    event = SecurityEvent.objects.get(event_type="support_request_sent")
    signed_in = SecurityEvent.objects.filter(event_type="sign_in_succeeded").first()
    assert signed_in is not None
    assert event.account_id == signed_in.account_id


def test_a_csv_export_after_another_sign_in_is_recorded_with_its_account(client, signed_in_twice):
    response = client.get("/admin/compliance/export.csv")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = SecurityEvent.objects.get(event_type="report_exported")
    signed_in = SecurityEvent.objects.filter(event_type="sign_in_succeeded").first()
    assert signed_in is not None
    assert event.account_id == signed_in.account_id
