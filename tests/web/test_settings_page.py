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
    assert "Trusted provider management link" in html
    assert "Review or regenerate recovery codes</button>" in html
    assert " / replace your authenticator" not in html
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
    # One step: the button says the new set is stored, so nothing else is asked.
    assert account.reminder_since is None
    assert account.ack_pending == ""
    assert account.acknowledged_at == account.regeneration_declared_at
    html = page(client)
    assert "You signed in with a recovery code" not in html
    assert "I have stored my current recovery codes" not in html
    assert list(SecurityEvent.objects.order_by("id").values_list("event_type", flat=True)) == [
        "regeneration_declared",
        "recovery_codes_acknowledged",
    ]


def reminder_section(html):
    start = html.index('id="recovery-code-reminder"')
    return html[start : html.index("</section>", start)]


def test_reminder_offers_reviewed_and_regenerated_with_the_provider_link_beside_them(
    client, sign_in_as
):
    sign_in_as(
        ["aidial_operator"],
        evidence(factor=Factor.RECOVERY_CODE),
        reminder_since=timezone.now(),
        ever_enrolled=True,
        enrolled_observed=True,
    )
    section = reminder_section(page(client))
    assert "I reviewed my recovery codes" in section
    assert "I regenerated my recovery codes" in section
    assert 'action="/settings/provider-security/"' in section
    assert "tell us below" not in section


def test_i_reviewed_my_codes_ends_the_reminder_and_asks_nothing_more(client, sign_in_as):
    account = sign_in_as(
        ["aidial_operator"],
        evidence(factor=Factor.RECOVERY_CODE),
        reminder_since=timezone.now(),
        ever_enrolled=True,
        enrolled_observed=True,
    )
    response = client.post("/settings/recovery-codes/reviewed/", {"back": "/"})
    assert response["Location"] == "/"
    account.refresh_from_db()
    assert account.reminder_since is None
    assert account.ack_pending == ""
    assert SecurityEvent.objects.get().event_type == "recovery_codes_reviewed"
    assert "You signed in with a recovery code" not in page(client)


def test_reminder_without_an_authenticator_points_to_setup_not_to_buttons_that_lie(
    client, sign_in_as
):
    sign_in_as(
        ["client_staff"],
        evidence(enrolled=False, factor=None, recovery_codes=False),
        reminder_since=timezone.now(),
        ever_enrolled=True,
        enrolled_observed=False,
    )
    html = page(client)
    section = reminder_section(html)
    assert "I reviewed my recovery codes" not in html
    assert "I regenerated my recovery codes" not in html
    assert "tell us" not in section
    assert "Open MFA setup" in section


def test_amr_mode_reminder_still_offers_both_answers(client, sign_in_as, portal_config):
    portal_config(evidence_mode=Source.AMR)
    sign_in_as(
        ["client_staff"],
        evidence(enrolled=None, factor=Factor.OTP, source=Source.AMR, recovery_codes=None),
        reminder_since=timezone.now(),
        ever_enrolled=True,
        enrolled_observed=None,
    )
    section = reminder_section(page(client))
    assert "I reviewed my recovery codes" in section
    assert "I regenerated my recovery codes" in section
    client.post("/settings/recovery-codes/regenerated/")
    assert Account.objects.get().reminder_since is None


def test_regeneration_can_be_declared_without_a_reminder_in_amr_mode(
    client, sign_in_as, portal_config
):
    portal_config(evidence_mode=Source.AMR)
    sign_in_as(["partner_admin"], evidence(factor=Factor.OTP, source=Source.AMR))
    assert "I regenerated my recovery codes" in page(client)


def test_lost_authenticator_ends_with_one_confirmation_that_says_what_happened(client, sign_in_as):
    """Recovery-code sign-in, authenticator removed and added again, refreshed: Settings
    shows one prompt, and one click clears both the confirmation and the reminder."""
    now = timezone.now()
    account = sign_in_as(
        ["aidial_operator"],
        reminder_since=now - timedelta(minutes=20),
        ack_pending=PendingReason.RE_ENABLEMENT.value,
        ack_pending_since=now - timedelta(minutes=1),
        ever_enrolled=True,
        enrolled_observed=True,
    )
    html = page(client)
    assert "You signed in with a recovery code on" in html
    assert "have since set up your authenticator app again" in html
    assert 'id="recovery-code-reminder"' not in html
    assert html.count("I have stored my current recovery codes") == 1
    client.post("/settings/recovery-codes/acknowledge/")
    account.refresh_from_db()
    assert account.ack_pending == ""
    assert account.reminder_since is None
    html = page(client)
    assert "Confirm you stored your recovery codes" not in html
    assert "You signed in with a recovery code" not in html


def test_dashboard_shows_one_pending_step_at_a_time_each_with_its_action(client, sign_in_as):
    sign_in_as(
        ["aidial_operator"],
        evidence(factor=Factor.TOTP),
        reminder_since=timezone.now(),
        ack_pending=PendingReason.ENROLMENT.value,
        ack_pending_since=timezone.now() - timedelta(days=1),
        ever_enrolled=True,
        enrolled_observed=True,
    )
    html = client.get("/").content.decode()
    assert html.count("data-prompt=") == 1
    assert "You signed in with a recovery code" in html
    assert 'action="/settings/recovery-codes/answer/"' in html
    assert 'action="/settings/provider-security/"' in html
    assert "Confirm you stored your recovery codes" not in html
    response = client.post("/settings/recovery-codes/answer/", {"answer": "reviewed", "back": "/"})
    assert response["Location"] == "/"

    html = client.get("/").content.decode()
    assert html.count("data-prompt=") == 1
    assert "reviewed your recovery codes" in html  # the confirmation, once
    assert "Confirm you stored your recovery codes" in html
    assert 'action="/settings/recovery-codes/acknowledge/"' in html
    response = client.post("/settings/recovery-codes/acknowledge/", {"next": "/"})
    assert response["Location"] == "/"
    html = client.get("/").content.decode()
    assert "data-prompt=" not in html
    assert "stored your current recovery codes" in html


def test_every_launch_to_the_provider_is_recorded_before_leaving(client, sign_in_as):
    sign_in_as(["client_staff"], evidence(enrolled=False, factor=None))
    assert client.post("/settings/mfa-setup/")["Location"] == SECURITY_URL
    assert client.post("/settings/provider-security/")["Location"] == "/settings/"
    client.logout()
    sign_in_as(["client_staff"], evidence(factor=Factor.TOTP), sub="user-2")
    assert client.post("/settings/provider-security/")["Location"] == SECURITY_URL
    assert client.post("/settings/manage-mfa/")["Location"] == SECURITY_URL
    assert list(SecurityEvent.objects.order_by("id").values_list("event_type", flat=True)) == [
        "setup_launched",
        "review_launched",
        "management_launched",
    ]


def test_mandatory_role_is_told_before_leaving_that_removing_the_app_blocks_pages(
    client, sign_in_as
):
    sign_in_as(["partner_admin"])
    html = " ".join(page(client).split())
    warning = html.index("If you remove your only authenticator app")
    assert "protected pages are blocked from your next sign-in or refresh until you add" in html
    assert warning < html.index('action="/settings/provider-security/"')


def test_optional_role_gets_no_blocking_warning(client, sign_in_as):
    sign_in_as(["client_staff"])
    assert "protected pages are blocked" not in page(client)


def test_an_old_multi_factor_check_is_explained_with_its_lifetime(client, sign_in_as):
    old = timezone.now() - timedelta(hours=13)
    sign_in_as(["partner_admin"], evidence(factor=Factor.TOTP, at=old))
    html = page(client)
    assert "Your last multi-factor check is too old" in html
    assert "a multi-factor check counts for 12 hours" in html


def test_a_mandatory_role_sees_when_its_check_stops_counting(client, sign_in_as):
    sign_in_as(["partner_admin"])
    assert "Multi-factor check counts until" in page(client)


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
