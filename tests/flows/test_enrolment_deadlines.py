"""Enrolment deadlines over real HTTP against the local provider: a newcomer to a mandatory
role may use the portal until first seen + AIDIAL_ENROLMENT_GRACE_DAYS, then the guide applies."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django.utils.dateformat import format as format_date

from aidial_portal.accounts.models import Account, MandatoryRoleFirstSeen
from aidial_portal.audit.models import SecurityEvent
from tests.support.smtp import smtp_server  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.idp]
SENDER = "portal@aidial.test"


@pytest.fixture
def grace(settings, wired):
    settings.TIME_ZONE = "Australia/Sydney"
    settings.AIDIAL = replace(settings.AIDIAL, enrolment_grace_days=11)


def last_day_text(days: int = 11) -> str:
    return format_date(timezone.localdate() + timedelta(days=days), "l j F Y")


def test_partner_admin_without_mfa_is_let_in_with_a_dated_banner(client, grace, person, sign_in):
    who = person("partner_admin")
    sign_in(who)
    page = client.get("/")
    assert page.status_code == 200
    banner = f"Your role requires MFA. Set it up by {last_day_text()} (11 days left)."
    assert banner in page.content.decode()
    assert "Open MFA setup" in page.content.decode()
    settings_page = client.get("/settings/").content.decode()
    assert banner in settings_page
    assert "Until the end of that day you can use the portal as usual" in settings_page
    assert client.post("/actions/confirm-session/").status_code == 200
    event = SecurityEvent.objects.get(event_type="enrolment_grace_sign_in")
    assert event.details["days_left"] == 11


def test_a_new_sign_in_never_restarts_the_clock(client, grace, person, sign_in):
    who = person("partner_admin")
    sign_in(who)
    account = Account.objects.get(login_name=who.login)
    first = MandatoryRoleFirstSeen.objects.get(account=account, role="partner_admin")
    MandatoryRoleFirstSeen.objects.filter(pk=first.pk).update(
        first_seen_at=first.first_seen_at - timedelta(days=4)
    )
    sign_in(who)
    assert MandatoryRoleFirstSeen.objects.get(pk=first.pk).first_seen_at < first.first_seen_at
    assert f"Set it up by {last_day_text(7)} (7 days left)" in client.get("/").content.decode()
    assert SecurityEvent.objects.filter(event_type="enrolment_grace_sign_in").count() == 2


def test_after_the_deadline_the_guides_behaviour_applies(client, grace, person, sign_in):
    who = person("partner_admin")
    sign_in(who)
    MandatoryRoleFirstSeen.objects.update(first_seen_at=timezone.now() - timedelta(days=12))
    sign_in(who)
    page = client.get("/")
    assert page["Location"] == "/settings/?next=%2F"
    settings_page = client.get("/settings/").content.decode()
    assert "has no authenticator app enrolled yet" in settings_page
    assert "Set it up by" not in settings_page
    assert SecurityEvent.objects.filter(event_type="enrolment_grace_sign_in").count() == 1


def test_grace_is_off_by_default(client, person, sign_in):
    who = person("partner_admin")
    sign_in(who)
    assert client.get("/")["Location"] == "/settings/?next=%2F"
    assert not MandatoryRoleFirstSeen.objects.exists()


def test_optional_roles_get_no_deadline(client, grace, person, sign_in):
    who = person("client_staff")
    sign_in(who)
    assert "Set it up by" not in client.get("/").content.decode()
    assert not MandatoryRoleFirstSeen.objects.exists()


def test_the_report_shows_the_deadline_and_the_grace_status(
    client, grace, person, sign_in, local_idp
):
    newcomer = person("partner_admin")
    sign_in(newcomer)
    viewer = person("aidial_operator", totp=True)
    sign_in(viewer, code=local_idp.totp_code(viewer.totp_secret))
    page = client.get("/admin/compliance/").content.decode()
    assert '<th scope="col">Enrolment deadline</th>' in page
    deadline = format_date(timezone.localdate() + timedelta(days=11), "j M Y")
    assert f'<td data-label="Enrolment deadline">{deadline}: In grace period</td>' in page


def test_done_when_a_partner_admin_without_mfa_gets_a_banner_and_one_reminder(
    client,
    grace,
    person,
    sign_in,
    settings,
    smtp_server,  # noqa: F811 - the fixture
):
    settings.AIDIAL = replace(
        settings.AIDIAL, email_host="127.0.0.1", email_port=smtp_server.port, email_from=SENDER
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    who = person("partner_admin")
    sign_in(who)
    assert f"Set it up by {last_day_text()} (11 days left)" in client.get("/").content.decode()
    out = io.StringIO()
    call_command("reminders", "send", stdout=out)
    mine = [mail for mail in smtp_server.received if mail.recipients == [who.login]]
    assert len(mine) == 1
    assert f"Set it up by {last_day_text()} (11 days left)" in mine[0].message.as_string()
    again = io.StringIO()
    call_command("reminders", "send", stdout=again)
    assert "People: 0 due" in again.getvalue()
    assert [mail for mail in smtp_server.received if mail.recipients == [who.login]] == mine
