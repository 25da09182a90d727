"""The user guide's journeys, over real HTTP against the local provider."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from aidial_portal.accounts import session_state
from aidial_portal.accounts.models import Account
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.mfa.evidence import Factor, Source
from tests.flows.conftest import callback_path, other_applications
from tests.support.idp import Page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.idp]


def events(kind: str) -> int:
    return SecurityEvent.objects.filter(event_type=kind).count()


def test_partner_admin_without_mfa_lands_on_settings_and_is_refused(client, person, sign_in):
    who = person("partner_admin")
    response = sign_in(who, next_path="/")
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    page = client.get("/")
    assert page.status_code == 302
    assert page["Location"] == "/settings/?next=%2F"
    settings_page = client.get(page["Location"]).content.decode()
    assert "has no authenticator app enrolled yet" in settings_page
    assert "Open MFA setup" in settings_page
    action = client.post("/actions/confirm-session/")
    assert action.status_code == 403
    assert action.json()["reason"] == "not_enrolled"
    account = Account.objects.get(login_name=who.login)
    assert account.subject == who.user_id
    assert account.last_status == "not_enrolled"
    assert events("sign_in_succeeded") == 1


def test_partner_admin_with_totp_is_compliant_and_asked_to_acknowledge(
    client, person, sign_in, local_idp
):
    who = person("partner_admin", totp=True)
    response = sign_in(who, code=local_idp.totp_code(who.totp_secret))
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/actions/confirm-session/").status_code == 200
    state = session_state.load(client.session)
    assert state.evidence.recognised_factor is Factor.TOTP
    assert state.evidence.totp_enrolled is True
    account = Account.objects.get(login_name=who.login)
    assert account.ack_pending == "enrolment"  # first time the portal sees the enrolment
    assert "I have stored my current recovery codes" in client.get("/settings/").content.decode()


def test_enrolled_admin_who_skips_the_code_is_not_compliant(client, person, sign_in):
    who = person("aidial_admin", totp=True)
    # The provider asks for the code; a sign-in can only skip it if the provider lets it,
    # so simulate the "enrolled, but this sign-in skipped MFA" case through the session API:
    # the local provider never lets a TOTP user skip, which is the secure default.
    with pytest.raises(AssertionError):
        sign_in(who)  # no code: the provider stops at the Code step
    assert client.get("/")["Location"].startswith("/login/")


def test_operator_signing_in_with_a_recovery_code_gets_a_reminder(client, person, sign_in):
    who = person("aidial_operator", totp=True)
    response = sign_in(who, code=who.recovery_codes[0])
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    state = session_state.load(client.session)
    assert state.evidence.recognised_factor is Factor.RECOVERY_CODE
    html = client.get("/settings/").content.decode()
    assert "You signed in with a recovery code" in html
    assert events("recovery_code_sign_in") == 1
    client.post("/settings/recovery-codes/regenerated/")
    html = client.get("/settings/").content.decode()
    assert "You signed in with a recovery code" not in html
    # "I regenerated my recovery codes" also confirms the new set is stored: one step.
    assert "I have stored my current recovery codes" not in html
    assert events("recovery_codes_acknowledged") == 1


def test_enrol_at_the_provider_then_refresh_makes_the_session_compliant(
    client, person, sign_in, refresh, browser, local_idp
):
    who = person("partner_admin")
    sign_in(who)
    assert client.get("/")["Location"].startswith("/settings/")
    enrolled = browser.enrol_totp()
    # The code that confirmed the enrolment cannot be used again: take the next one.
    response = refresh(who, code=local_idp.totp_code(enrolled["totp_secret"], offset_steps=1))
    assert response.status_code == 302
    assert response["Location"].startswith("/settings/")
    assert client.get("/").status_code == 200
    assert events("refresh_started") == 1
    assert events("refresh_completed") == 1
    account = Account.objects.get(login_name=who.login)
    assert account.ack_pending == "enrolment"
    client.post("/settings/recovery-codes/acknowledge/")
    account.refresh_from_db()
    assert account.ack_pending == ""


def test_refresh_asks_the_provider_for_a_fresh_sign_in(client, person, sign_in, local_idp):
    who = person("client_staff")
    sign_in(who)
    start = client.post("/settings/refresh/")
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["prompt"] == ["login"]
    assert query["max_age"] == ["0"]
    assert query["login_hint"] == [who.login]
    assert query["code_challenge_method"] == ["S256"]


def test_refresh_as_someone_else_is_refused_and_keeps_the_session(
    client, person, sign_in, browser, wired
):
    first, second = person("client_staff"), person("client_staff")
    sign_in(first)
    start = client.post("/settings/refresh/")
    final = browser.authorize(start["Location"], second.login, second.password)
    parts = urlsplit(final)
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 400
    assert b"different" in response.content
    assert session_state.load(client.session).login_hint == first.login
    assert SecurityEvent.objects.get(event_type="refresh_refused").reason == (
        "refresh_subject_mismatch"
    )


def test_a_callback_cannot_be_replayed(client, person, sign_in, browser, wired):
    who = person("client_staff")
    start = client.post("/login/")
    final = browser.authorize(start["Location"], who.login, who.password)
    parts = urlsplit(final)
    assert client.get(f"{parts.path}?{parts.query}").status_code == 302
    client.post("/logout/")
    replay = client.get(f"{parts.path}?{parts.query}")
    assert replay.status_code == 400
    assert b"already been used" in replay.content
    assert client.get("/")["Location"].startswith("/login/")


def test_provider_error_shows_a_plain_page_and_no_session(client, wired):
    start = client.post("/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = client.get(f"/oidc/callback/?error=access_denied&state={state}")
    assert response.status_code == 400
    assert b"cancelled or refused" in response.content
    assert b"Traceback" not in response.content
    assert session_state.load(client.session) is None
    assert SecurityEvent.objects.get(event_type="sign_in_rejected").reason == (
        "provider_access_denied"
    )


def test_optional_role_can_launch_management_only_within_the_step_up_window(
    client, person, sign_in, local_idp, monkeypatch
):
    who = person("client_staff", totp=True)
    sign_in(who, code=local_idp.totp_code(who.totp_secret))
    html = client.get("/settings/").content.decode()
    assert "Manage MFA at the provider" in html
    launch = client.post("/settings/manage-mfa/")
    assert launch.status_code == 302
    assert launch["Location"].startswith(local_idp.issuer + "/ui/console/users/me")
    assert events("management_launched") == 1

    later = timezone.now() + timedelta(seconds=901)
    monkeypatch.setattr("django.utils.timezone.now", lambda: later)
    assert "refresh your security status first" in client.get("/settings/").content.decode()
    assert client.post("/settings/manage-mfa/").status_code == 403
    assert events("management_refused") == 1


def test_mandatory_role_cannot_launch_management(client, person, sign_in, local_idp):
    who = person("partner_admin", totp=True)
    sign_in(who, code=local_idp.totp_code(who.totp_secret))
    assert "Manage MFA at the provider" not in client.get("/settings/").content.decode()
    assert client.post("/settings/manage-mfa/").status_code == 403


def test_re_enablement_asks_for_acknowledgement_again(
    client, person, sign_in, refresh, browser, local_idp
):
    who = person("client_staff", totp=True)
    sign_in(who, code=local_idp.totp_code(who.totp_secret))
    client.post("/settings/recovery-codes/acknowledge/")
    browser.remove_totp(local_idp.totp_code(who.totp_secret, offset_steps=1))
    refresh(who)
    account = Account.objects.get(login_name=who.login)
    assert account.enrolled_observed is False
    assert "Not enrolled" in client.get("/settings/").content.decode()
    again = browser.enrol_totp()
    refresh(who, code=local_idp.totp_code(again["totp_secret"], offset_steps=1))
    account.refresh_from_db()
    assert account.ack_pending == "re_enablement"


def test_sign_out_ends_the_session_and_the_cookie_stops_working(client, person, sign_in):
    who = person("client_staff")
    sign_in(who)
    cookie = client.cookies["aidial_session"].value
    response = client.post("/logout/")
    assert response.status_code == 302
    assert "end_session" in response["Location"] or response["Location"] == "/signed-out/"
    client.cookies["aidial_session"] = cookie
    assert client.get("/")["Location"].startswith("/login/")
    assert events("signed_out") == 1


def test_provider_api_down_completes_sign_in_but_fails_closed(
    client, person, sign_in, local_idp, settings
):
    settings.AIDIAL = replace(settings.AIDIAL, api_url="http://127.0.0.1:9")  # nothing listens
    who = person("partner_admin", totp=True)
    response = sign_in(who, code=local_idp.totp_code(who.totp_secret))
    assert response.status_code == 302
    action = client.post("/actions/confirm-session/")
    assert action.status_code == 403
    assert action.json()["reason"] == "evidence_unavailable"
    assert "could not read your security status" in client.get("/settings/").content.decode()
    assert SecurityEvent.objects.filter(event_type="evidence_unavailable").count() == 1


def test_signed_in_sessions_keep_working_while_the_provider_is_down(
    client, person, sign_in, local_idp, settings
):
    who = person("partner_admin", totp=True)
    sign_in(who, code=local_idp.totp_code(who.totp_secret))
    down = "http://127.0.0.1:9"  # nothing listens: the gate needs no provider
    settings.AIDIAL = replace(settings.AIDIAL, issuer=down, api_url=down)
    assert client.get("/").status_code == 200
    assert client.post("/actions/confirm-session/").status_code == 200


def test_no_portal_role_gets_the_no_access_page(client, person, sign_in):
    who = person()
    sign_in(who)
    response = client.get("/")
    assert response.status_code == 403
    assert b"No access" in response.content
    assert b'action="/logout/"' in response.content


def test_sign_out_ends_the_provider_session_so_the_next_sign_in_asks_for_credentials(
    client, person, sign_in, browser
):
    who = person("client_staff")
    sign_in(who)
    # While the provider session lives, a new sign-in goes straight back to the portal.
    assert isinstance(browser._open(client.post("/login/")["Location"]), str)

    response = client.post("/logout/")
    leaving = urlsplit(response["Location"])
    assert leaving.path == "/oidc/v1/end_session"
    sent = parse_qs(leaving.query)
    assert sent["id_token_hint"]
    assert sent["client_id"]
    assert sent["state"]
    assert sent["post_logout_redirect_uri"] == ["http://testserver/signed-out/"]
    ended = browser.client.get(response["Location"])
    assert ended.status_code == 302
    back = urlsplit(ended.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == "http://testserver/signed-out/"
    page = client.get(f"{back.path}?{back.query}")
    assert b"You have signed out" in page.content
    assert b"did not match" not in page.content
    assert session_state.load(client.session) is None

    # The provider session is over: signing in again needs the password again.
    asked = browser._open(client.post("/login/")["Location"])
    assert not isinstance(asked, str)
    assert "login-form" in Page(asked.text).forms
    sign_in(who)
    assert session_state.load(client.session) is not None


def test_a_sign_out_return_with_another_state_is_said_plainly_and_stays_signed_out(
    client, person, sign_in, browser
):
    who = person("client_staff")
    sign_in(who)
    response = client.post("/logout/")
    page = client.get("/signed-out/?state=not-the-one-we-sent")
    assert b"did not match" in page.content
    assert b"You are signed out of the portal" in page.content
    assert session_state.load(client.session) is None
    assert client.get("/").status_code == 302
    assert "/oidc/v1/end_session" in response["Location"]


def test_sign_in_and_refresh_cycle_the_session_key_and_csrf_token(
    client, person, browser, refresh, local_idp, wired
):
    who = person("client_staff", totp=True)
    start = client.post("/login/")
    anonymous_key = client.cookies["aidial_session"].value
    final = browser.authorize(
        start["Location"], who.login, who.password, code=local_idp.totp_code(who.totp_secret)
    )
    client.get(callback_path(final))
    signed_in_key = client.cookies["aidial_session"].value
    assert signed_in_key != anonymous_key
    client.get("/settings/")
    csrf_before = client.cookies["aidial_csrftoken"].value
    refresh(who, code=local_idp.totp_code(who.totp_secret, offset_steps=1))
    assert client.cookies["aidial_session"].value != signed_in_key
    assert client.cookies["aidial_csrftoken"].value != csrf_before


def test_login_v1_amr_mode_counts_otp_and_says_reminders_are_unavailable(
    client, person, sign_in, local_idp, settings
):
    settings.AIDIAL = replace(settings.AIDIAL, evidence_mode=Source.AMR)
    who = person("aidial_operator", totp=True)
    sign_in(who, code=local_idp.totp_code(who.totp_secret))
    assert client.get("/").status_code == 200
    state = session_state.load(client.session)
    assert state.evidence.recognised_factor is Factor.OTP
    html = client.get("/settings/").content.decode()
    assert "Recovery-code reminders are unavailable" in html
    assert "You signed in with a recovery code" not in html  # amr cannot tell


def test_login_v1_amr_mode_does_not_count_a_recovery_code_which_adds_nothing_to_amr(
    client, person, sign_in, settings
):
    # Zitadel's AuthMethodTypesToAMR has no case for a recovery code: amr is just ["pwd"].
    settings.AIDIAL = replace(settings.AIDIAL, evidence_mode=Source.AMR)
    who = person("aidial_operator", totp=True)
    sign_in(who, code=who.recovery_codes[0])
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/settings/")


def test_a_marker_never_changes_without_its_security_event(
    client, person, sign_in, local_idp, monkeypatch
):
    who = person("partner_admin", totp=True)
    sign_in(who, code=local_idp.totp_code(who.totp_secret))

    def broken(*args, **kwargs):
        raise RuntimeError("the event table is unavailable")

    monkeypatch.setattr("aidial_portal.accounts.lifecycle.record", broken)
    client.raise_request_exception = False
    response = client.post("/settings/recovery-codes/acknowledge/")
    assert response.status_code == 500
    assert Account.objects.get(login_name=who.login).ack_pending == "enrolment"


def test_the_session_cookie_is_httponly_and_lax(person, sign_in):
    response = sign_in(person("client_staff"))
    cookie = response.cookies["aidial_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # http on loopback here; an https AIDIAL_BASE_URL sets Secure


def test_a_public_client_signs_in_with_pkce_alone(client, person, browser, local_idp, settings):
    public = local_idp.add_client("http://testserver/oidc/callback/", public=True)
    settings.AIDIAL = replace(
        settings.AIDIAL,
        base_url="http://testserver",
        issuer=local_idp.issuer,
        api_url=local_idp.issuer,
        client_id=public["client_id"],
        client_secret="",
        project_id=public["project_id"],
        extra_audiences=other_applications(local_idp, public["client_id"]),
        service_token=local_idp.service_token(),
    )
    who = person("partner_admin", totp=True)
    start = client.post("/login/")
    assert "code_challenge=" in start["Location"]
    final = browser.authorize(
        start["Location"], who.login, who.password, code=local_idp.totp_code(who.totp_secret)
    )
    assert client.get(callback_path(final)).status_code == 302
    assert client.get("/").status_code == 200


def test_a_partner_admin_who_is_client_staff_elsewhere_sees_exactly_the_partners_report(
    client, local_idp, sign_in, browser
):
    partner, other = "Partner Flows", "Client Flows"
    colleague = local_idp.new_person("partner_user", org=partner, domain="flows.test")
    outsider = local_idp.new_person("client_staff", org=other, domain="flows.test")
    who = local_idp.new_person(
        "partner_admin",
        org=partner,
        totp=True,
        domain="flows.test",
        grants=[(other, "client_staff")],
    )
    for someone in (colleague, outsider):
        sign_in(someone)
        browser.client.get(client.post("/logout/")["Location"])  # and out at the provider
    sign_in(who, code=local_idp.totp_code(who.totp_secret))

    account = Account.objects.get(login_name=who.login)
    held = sorted((grant.role, grant.org_id) for grant in account.grants.all())
    assert [role for role, _ in held] == ["client_staff", "partner_admin"]
    assert held[0][1] != held[1][1]

    listed = {row.account.login_name for row in client.get("/admin/compliance/").context["rows"]}
    assert {who.login, colleague.login} <= listed
    assert outsider.login not in listed
    export = b"".join(client.get("/admin/compliance/export.csv").streaming_content).decode()
    assert outsider.login not in export
    settings_page = client.get("/settings/").content.decode()
    assert "Client Staff" in settings_page
    assert "Partner Administrator" in settings_page


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_one_time_code_by_sms_or_email_never_satisfies_a_mandatory_role(
    client, local_idp, browser, wired, channel
):
    who = local_idp.new_person(
        "partner_admin",
        domain="flows.test",
        otp_sms="+61412345678" if channel == "sms" else None,
        otp_email=channel == "email",
    )
    start = client.post("/login/")
    final = browser.authorize(start["Location"], who.login, who.password, otp=channel)
    client.get(callback_path(final))
    state = session_state.load(client.session)
    assert state is not None
    assert state.evidence.recognised_factor is None
    assert client.get("/")["Location"].startswith("/settings/")


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_amr_mode_refuses_otp_when_sms_or_email_codes_are_set_up_and_says_why(
    client, local_idp, browser, wired, settings, channel
):
    settings.AIDIAL = replace(settings.AIDIAL, evidence_mode=Source.AMR)
    who = local_idp.new_person(
        "partner_admin",
        totp=True,
        domain="flows.test",
        otp_sms="+61412345678" if channel == "sms" else None,
        otp_email=channel == "email",
    )
    start = client.post("/login/")
    final = browser.authorize(
        start["Location"], who.login, who.password, code=local_idp.totp_code(who.totp_secret)
    )
    client.get(callback_path(final))
    # Even a real TOTP code: `otp` in amr cannot be told from an SMS or e-mail code.
    assert client.get("/")["Location"].startswith("/settings/")
    html = client.get("/settings/").content.decode()
    assert "one-time codes by SMS or e-mail" in html
