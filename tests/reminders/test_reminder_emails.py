"""`aidial-portal reminders send`: plain-text and HTML reminders through a real SMTP server on
loopback, at most once per interval, each recorded; an outage leaves the rest for the next run,
and two runs at once never send one twice."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from aidial_portal.accounts.models import MandatoryRoleFirstSeen
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.identity.claims import Grant
from aidial_portal.reminders import sending
from aidial_portal.reminders.models import Reminder
from tests.support.smtp import SmtpServer, smtp_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
SENDER = "portal@aidial.test"
ACME = "org-acme"


@pytest.fixture
def email_on(settings, portal_config, smtp_server: SmtpServer) -> SmtpServer:  # noqa: F811
    portal_config(
        email_host="127.0.0.1",
        email_port=smtp_server.port,
        email_from=SENDER,
        base_url="https://portal.example.com",
        service_token="service-token-that-must-never-travel",
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


@pytest.fixture
def people(make_account):
    def person(sub, roles, status="not_enrolled", email=None, org=ACME, **fields):
        required = {"partner_admin", "aidial_admin", "aidial_operator"} & set(roles)
        return make_account(
            sub=sub,
            roles=roles,
            grants=[Grant(role, org, "acme.example") for role in roles],
            requirement="required" if required else "optional",
            last_status=status,
            email=f"{sub}@acme.example" if email is None else email,
            display_name=sub.title(),
            org_id=org,
            org_domain="acme.example",
            **fields,
        )

    return {
        "new": person("newcomer", ["partner_admin"]),
        "quiet": person("no-address", ["partner_admin"], email=""),
        "ok": person("compliant", ["aidial_operator"], status="compliant"),
        "optional": person("staff", ["client_staff"]),
        "admin": person("boss", ["client_admin"], status="compliant"),
    }


def run(*args):
    out = io.StringIO()
    call_command("reminders", "send", *args, stdout=out)
    return out.getvalue()


def to(mail):
    return sorted(mail.recipients)


def parts(mail):
    found = {}
    for part in mail.message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            found[part.get_content_type()] = part.get_payload(decode=True).decode()
    return found


def test_a_not_enrolled_person_and_their_organisations_admins_get_one_mail_each(email_on, people):
    printed = run()
    assert "People: 1 due, 1 sent, 0 not sent" in printed
    assert "Organisation digests: 1 due, 1 sent, 0 not sent" in printed
    by_recipient = {tuple(to(mail)): mail for mail in email_on.received}
    # The digest goes to the organisation's administrators: the client_admin, and the
    # newcomer, who is a partner_admin there.
    digest_to = ("boss@acme.example", "newcomer@acme.example")
    assert set(by_recipient) == {("newcomer@acme.example",), digest_to}
    mail = by_recipient[("newcomer@acme.example",)]
    assert mail.sender == SENDER
    body = parts(mail)
    assert set(body) == {"text/plain", "text/html"}
    for text in body.values():
        assert "Partner Administrator" in text
        assert "https://portal.example.com/settings/" in text
        assert "https://portal.example.com/help/" in text
        assert "help@aidial.com.au" in text
        assert "service-token-that-must-never-travel" not in text
    digest = parts(by_recipient[digest_to])["text/plain"]
    assert "acme.example" in digest
    assert "newcomer@example.test" in digest  # the login name of the person to chase
    assert "no-address@example.test" in digest
    assert "staff@example.test" not in digest  # an optional role is nobody's business here
    kinds = sorted(
        SecurityEvent.objects.filter(event_type="reminder_sent").values_list("reason", flat=True)
    )
    assert kinds == ["organisation_digest", "person"]


def test_a_second_run_sends_nothing_new(email_on, people):
    run()
    assert "People: 0 due, 0 sent, 0 not sent" in run()
    assert len(email_on.received) == 2


def test_after_the_interval_they_are_reminded_again(email_on, people, portal_config):
    run()
    Reminder.objects.update(last_sent_at=timezone.now() - timedelta(days=7))
    assert "People: 1 due, 1 sent" in run()
    portal_config(reminder_interval_days=30)
    Reminder.objects.update(last_sent_at=timezone.now() - timedelta(days=7))
    assert "People: 0 due" in run()


def test_the_mail_names_the_deadline_when_one_applies(email_on, people, portal_config):
    portal_config(enrolment_grace_days=11)
    MandatoryRoleFirstSeen.objects.create(
        account=people["new"], role="partner_admin", org_id=ACME, first_seen_at=timezone.now()
    )
    run()
    mail = next(m for m in email_on.received if to(m) == ["newcomer@acme.example"])
    last_day = timezone.localdate() + timedelta(days=11)
    assert (
        f"Set it up by {last_day:%A} {last_day.day} {last_day:%B %Y} (11 days left)"
        in (parts(mail)["text/plain"])
    )


def test_a_dry_run_sends_and_records_nothing(email_on, people):
    printed = run("--dry-run")
    assert "People: 1 due (dry run: nothing sent)" in printed
    assert email_on.received == []
    assert not Reminder.objects.exists()
    assert not SecurityEvent.objects.filter(event_type="reminder_sent").exists()


def test_a_mail_server_outage_leaves_the_unsent_ones_for_the_next_run(email_on, people):
    email_on.stop()
    with pytest.raises(CommandError, match="did not answer"):
        run()
    assert not Reminder.objects.filter(last_sent_at__isnull=False).exists()
    assert not Reminder.objects.filter(claimed_at__isnull=False).exists()
    email_on.start()
    assert "People: 1 due, 1 sent, 0 not sent" in run()
    assert len(email_on.received) == 2


def test_two_runs_at_once_never_send_one_twice(email_on, people, monkeypatch):
    # The second run starts while the first is sending its first mail.
    send = sending._send
    nested: list[str] = []

    def send_and_start_another_run(*args, **kwargs):
        if not nested:
            nested.append(run())
        return send(*args, **kwargs)

    monkeypatch.setattr(sending, "_send", send_and_start_another_run)
    first = run()
    assert sorted(tuple(to(mail)) for mail in email_on.received) == [
        ("boss@acme.example", "newcomer@acme.example"),
        ("newcomer@acme.example",),
    ]
    # The second run found the first run's mail claimed and sent only the other one.
    assert "People: 0 due" in nested[0] or "People: 0 due" in first


def test_without_email_settings_the_command_says_what_to_set(people, portal_config):
    portal_config(email_host="", email_from="")
    with pytest.raises(CommandError, match="AIDIAL_EMAIL_HOST and AIDIAL_EMAIL_FROM"):
        run()


def test_a_claim_left_by_a_run_that_died_lapses_after_ten_minutes(email_on, people):
    run("--dry-run")
    person = Reminder.objects.create(
        kind=Reminder.PERSON, account=people["new"], claimed_at=timezone.now()
    )
    assert "People: 0 due" in run()  # another run is sending it now
    Reminder.objects.filter(pk=person.pk).update(claimed_at=timezone.now() - timedelta(minutes=11))
    assert "People: 1 due, 1 sent" in run()
    assert Reminder.objects.get(pk=person.pk).times_sent == 1
