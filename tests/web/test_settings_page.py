from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from aidial_portal.accounts.models import Account
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.mfa.evidence import Factor, Source, unavailable
from aidial_portal.mfa.lifecycle import PendingReason
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db
SECURITY_URL = "http://127.0.0.1:8080/ui/console/users/me?id=security"


def page(client):
    response = client.get("/settings/")
    assert response.status_code == 200
    return response.content.decode()


def test_settings_shows_the_reason_and_next_step_for_a_mandatory_role(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    html = page(client)
    assert "Security step needed" in html
    assert "has no authenticator app enrolled yet" in html
    assert "Open MFA setup" in html
    assert "Refresh security status" in html
    assert "Partner Administrator" in html
    assert "<strong>required</strong>" in html


def test_settings_and_callback_pages_are_not_cached_or_referred(client, sign_in_as):
    sign_in_as(["client_staff"])
    response = client.get("/settings/")
    assert response["Cache-Control"] == "no-store"
    # No Referer leaves for the provider; same-origin keeps the page's own forms' Origin.
    assert response["Referrer-Policy"] == "same-origin"
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_open_mfa_setup_goes_to_the_trusted_provider_page(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    response = client.post("/settings/mfa-setup/")
    assert response["Location"] == SECURITY_URL


def test_open_mfa_setup_is_not_offered_once_enrolled(client, sign_in_as):
    sign_in_as(["partner_admin"])
    html = page(client)
    assert "Open MFA setup" not in html
    assert "Review or regenerate recovery codes / replace your authenticator" in html
    assert client.post("/settings/mfa-setup/")["Location"] == "/settings/"


def test_untrusted_provider_page_is_never_linked(client, sign_in_as, portal_config):
    portal_config(security_url="https://evil.example/ui/console/users/me?id=security")
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    html = page(client)
    assert "evil.example" not in html
    assert "Open MFA setup" not in html


def test_acknowledgement_prompt_clears_after_confirming(client, sign_in_as):
    account = sign_in_as(
        ["partner_admin"],
        ack_pending=PendingReason.ENROLMENT.value,
        ever_enrolled=True,
        enrolled_observed=True,
    )
    assert "I have stored my current recovery codes" in page(client)
    response = client.post("/settings/recovery-codes/acknowledge/", {"next": "/"})
    assert response["Location"] == "/"
    account.refresh_from_db()
    assert account.ack_pending == ""
    assert account.acknowledged_at is not None
    assert "I have stored my current recovery codes" not in page(client)


def test_two_identical_acknowledgements_leave_one_event(client, sign_in_as):
    sign_in_as(
        ["partner_admin"], ack_pending="enrolment", ever_enrolled=True, enrolled_observed=True
    )
    client.post("/settings/recovery-codes/acknowledge/")
    client.post("/settings/recovery-codes/acknowledge/")
    assert SecurityEvent.objects.filter(event_type="recovery_codes_acknowledged").count() == 1


def test_acknowledgement_form_has_no_text_field(client, sign_in_as):
    sign_in_as(
        ["partner_admin"], ack_pending="enrolment", ever_enrolled=True, enrolled_observed=True
    )
    html = page(client)
    form = html[html.index('action="/settings/recovery-codes/acknowledge/"') :]
    form = form[: form.index("</form>")]
    assert 'type="text"' not in form
    assert "<textarea" not in form


def test_reminder_after_recovery_code_stays_until_regeneration_is_declared(client, sign_in_as):
    account = sign_in_as(
        ["aidial_operator"],
        evidence(factor=Factor.RECOVERY_CODE),
        reminder_since=timezone.now(),
        ever_enrolled=True,
        enrolled_observed=True,
    )
    assert "You signed in with a recovery code" in page(client)
    client.post("/settings/recovery-codes/regenerated/")
    account.refresh_from_db()
    assert account.reminder_since is None
    assert account.ack_pending == "regeneration"
    html = page(client)
    assert "You signed in with a recovery code" not in html
    assert "You told us you regenerated your recovery codes." in html


def test_amr_mode_says_reminders_are_unavailable(client, sign_in_as, portal_config):
    portal_config(evidence_mode=Source.AMR)
    sign_in_as(["partner_admin"], evidence(factor=Factor.OTP, source=Source.AMR))
    assert "Recovery-code reminders are unavailable" in page(client)


def test_amr_mode_says_plainly_why_an_ambiguous_one_time_code_does_not_count(
    client, sign_in_as, portal_config
):
    portal_config(evidence_mode=Source.AMR)
    sign_in_as(["partner_admin"], unavailable("otp_ambiguous", Source.AMR))
    html = page(client)
    assert "Not compliant" in html
    assert "one-time codes by SMS or e-mail" in html
    assert "Only your authenticator app counts." in html


def test_optional_role_sees_manage_mfa_when_enrolled_and_fresh(client, sign_in_as):
    sign_in_as(["client_staff"], evidence(factor=Factor.TOTP))
    assert "Manage MFA at the provider" in page(client)
    response = client.post("/settings/manage-mfa/")
    assert response["Location"] == SECURITY_URL
    assert SecurityEvent.objects.filter(event_type="management_launched").count() == 1
    assert Account.objects.get().management_launched_at is not None


def test_manage_mfa_asks_for_a_refresh_after_the_step_up_window(client, sign_in_as):
    stale = timezone.now() - timedelta(seconds=901)
    sign_in_as(["client_staff"], evidence(factor=Factor.TOTP, at=stale))
    html = page(client)
    assert "Manage MFA at the provider" not in html
    assert "refresh your security status first" in html
    response = client.post("/settings/manage-mfa/")
    assert response.status_code == 403
    assert SecurityEvent.objects.get(event_type="management_refused").reason == "step_up_required"


def test_mandatory_role_never_sees_manage_mfa_and_a_forged_post_is_refused(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(factor=Factor.TOTP))
    assert "Manage MFA at the provider" not in page(client)
    response = client.post("/settings/manage-mfa/")
    assert response.status_code == 403
    assert SecurityEvent.objects.get(event_type="management_refused").reason == "mandatory_role"
    assert Account.objects.get().management_launched_at is None


def test_optional_role_without_mfa_gets_a_nudge_not_a_block(client, sign_in_as):
    sign_in_as(["client_staff"], evidence(enrolled=False, factor=None))
    html = page(client)
    assert "We recommend adding an authenticator app" in html
    assert "Security step needed" not in html
    assert client.post("/settings/manage-mfa/").status_code == 403


def test_actions_need_post_and_csrf(client, sign_in_as):
    sign_in_as(["client_staff"])
    assert client.get("/settings/manage-mfa/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    assert strict.post("/settings/recovery-codes/regenerated/").status_code == 403


def test_nothing_changes_mfa_state_from_a_signed_out_browser(client, make_account):
    make_account(ack_pending="enrolment")
    for action in (
        "/settings/recovery-codes/acknowledge/",
        "/settings/recovery-codes/regenerated/",
        "/settings/manage-mfa/",
        "/settings/refresh/",
    ):
        assert client.post(action).status_code == 401
    assert Account.objects.get().ack_pending == "enrolment"
