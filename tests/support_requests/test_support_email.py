"""Support requests reach people: each accepted request is stored, then e-mailed to the
AiDial team through a real SMTP server on loopback; an outage loses nothing, and
`aidial-portal support resend` delivers what failed."""

from __future__ import annotations

import io

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError

from aidial_portal.config import from_env
from aidial_portal.support.models import SupportRequest
from tests.support.smtp import SmtpServer, smtp_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
TEAM = "support-team@aidial.test"
SENDER = "portal@aidial.test"


@pytest.fixture
def email_on(settings, portal_config, smtp_server: SmtpServer) -> SmtpServer:  # noqa: F811
    portal_config(
        support_email_to=(TEAM,),
        email_host="127.0.0.1",
        email_port=smtp_server.port,
        email_from=SENDER,
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


def send(client, subject="Cannot export", message="The export button does nothing."):
    response = client.post("/support/", {"subject": subject, "message": message})
    assert response.status_code == 302
    return client.get(response["Location"]).content.decode()


def test_an_accepted_request_is_emailed_to_the_team(client, sign_in_as, email_on):
    sign_in_as(["partner_admin"], email="pat@partner.test", display_name="Pat Partner")
    page = send(client)
    assert "your request was sent" in page
    assert len(email_on.received) == 1
    mail = email_on.received[0]
    assert mail.recipients == [TEAM]
    assert mail.sender == SENDER
    assert "Cannot export" in mail.message["Subject"]
    assert mail.message["Reply-To"] == "pat@partner.test"
    body = mail.message.get_payload(decode=True).decode()
    assert "The export button does nothing." in body
    assert "Partner Administrator (partner_admin)" in body
    assert "/support/requests/" in body
    stored = SupportRequest.objects.get()
    assert stored.delivery == "sent"
    assert stored.delivered_at is not None
    assert stored.delivery_attempts == 1


def test_the_email_carries_no_session_cookie_or_csrf_token(client, sign_in_as, email_on, settings):
    sign_in_as(["client_staff"])
    send(client)
    raw = email_on.received[0].message.as_string()
    assert settings.SESSION_COOKIE_NAME in client.cookies  # there is a cookie to look for
    for cookie in client.cookies.values():
        assert cookie.value not in raw


def test_a_refused_secret_is_never_emailed(client, sign_in_as, email_on):
    sign_in_as(["client_staff"])
    response = client.post(
        "/support/", {"subject": "Help", "message": "My recovery code K7MPQ-X3RTW fails"}
    )
    assert response.status_code == 200
    assert email_on.received == []
    assert SupportRequest.objects.count() == 0


def test_a_mail_outage_loses_nothing_and_resend_delivers_it_once(
    client, sign_in_as, email_on, make_account
):
    sign_in_as(["client_staff"])
    email_on.stop()  # the SMTP server is down
    page = send(client, subject="Locked out", message="My phone was stolen.")
    assert "your request was saved" in page
    assert "Email to the AiDial team is delayed" in page
    stored = SupportRequest.objects.get()
    assert (stored.delivery, stored.delivery_attempts) == ("failed", 1)
    assert stored.delivery_error  # the kind of failure, for the team

    # The AiDial team sees it in the requests list, with what to do.
    client.logout()
    sign_in_as(["aidial_operator"], sub="operator-1")
    listing = client.get("/support/requests/").content.decode()
    assert "Locked out" in listing
    assert "Email failed" in listing
    assert "aidial-portal support resend" in listing

    with pytest.raises(CommandError, match="could not be e-mailed"):
        call_command("support", "resend", stdout=io.StringIO())
    email_on.start()  # the SMTP server is back
    out = io.StringIO()
    call_command("support", "resend", stdout=out)
    assert "1 e-mailed, 0 still failing" in out.getvalue()
    assert len(email_on.received) == 1
    assert "My phone was stolen." in email_on.received[0].message.get_payload(decode=True).decode()
    stored.refresh_from_db()
    assert (stored.delivery, stored.delivery_attempts) == ("sent", 3)

    call_command("support", "resend", stdout=io.StringIO())
    assert len(email_on.received) == 1  # never twice
    assert "Email failed" not in client.get("/support/requests/").content.decode()


def test_without_email_settings_the_page_says_where_requests_go(client, sign_in_as):
    sign_in_as(["client_staff"])
    form = " ".join(client.get("/support/").content.decode().split())
    assert "where the AiDial team reads it" in form
    assert "this portal sends no email" in form
    page = send(client)
    assert "your request was saved in the portal" in page
    assert SupportRequest.objects.get().delivery == "not_configured"
    with pytest.raises(CommandError, match="not configured"):
        call_command("support", "resend", stdout=io.StringIO())


def test_half_an_email_configuration_stops_start_up(portal_config):
    portal_config(support_email_to=(TEAM,))
    errors = [message for message in run_checks() if message.id == "aidial.E020"]
    assert len(errors) == 1
    assert "AIDIAL_EMAIL_HOST" in errors[0].msg
    assert "AIDIAL_EMAIL_FROM" in errors[0].msg


def test_a_password_is_never_sent_to_a_remote_smtp_server_without_tls(portal_config):
    portal_config(
        support_email_to=(TEAM,),
        email_host="smtp.example.com",
        email_from=SENDER,
        email_password="smtp-password-for-tests",
    )
    assert any(message.id == "aidial.E021" for message in run_checks())


def test_email_settings_are_read_and_checked():
    config = from_env(
        {
            "AIDIAL_SUPPORT_EMAIL_TO": "a@aidial.test, b@aidial.test",
            "AIDIAL_EMAIL_HOST": "smtp.aidial.test",
            "AIDIAL_EMAIL_PORT": "587",
            "AIDIAL_EMAIL_FROM": SENDER,
            "AIDIAL_EMAIL_TLS": "1",
            "AIDIAL_EMAIL_PASSWORD": "smtp-password-for-tests",
        }
    )
    assert config.support_email_to == ("a@aidial.test", "b@aidial.test")
    assert (config.email_port, config.email_tls, config.support_email_enabled) == (587, True, True)
    assert "smtp-password-for-tests" not in repr(config)
    with pytest.raises(ValueError, match="AIDIAL_EMAIL_PORT"):
        from_env({"AIDIAL_EMAIL_PORT": "smtp"})
    with pytest.raises(ValueError, match="AIDIAL_EMAIL_TLS"):
        from_env({"AIDIAL_EMAIL_TLS": "maybe"})


def test_the_emailed_link_carries_a_mount_prefix_once(client, sign_in_as, email_on, portal_config):
    from django.urls import set_script_prefix

    portal_config(base_url="http://testserver/portal")
    sign_in_as(["client_staff"])
    set_script_prefix("/portal/")  # as in a request under the mount, and in `support resend`
    try:
        send(client)
    finally:
        set_script_prefix("/")
    body = email_on.received[0].message.get_payload(decode=True).decode()
    assert "All requests: http://testserver/portal/support/requests/" in body
