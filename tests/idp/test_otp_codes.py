"""One-time codes by SMS and e-mail: enrolment, sign-in, and what Zitadel reports of them."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from tests.idp.conftest import RelyingParty, verify_id_token
from tests.support.idp import HostedLogin, HostedLoginError, LocalIdp, Page

PHONE = "+61412345678"


def _session(api: httpx.Client, sid: str) -> dict:
    response = api.get(f"/v2/sessions/{sid}")
    assert response.status_code == 200, response.text
    return response.json()["session"]


def _methods(api: httpx.Client, user_id: str) -> list[str]:
    return api.get(f"/v2/users/{user_id}/authentication_methods").json()["authMethodTypes"]


@pytest.mark.parametrize(
    ("channel", "factor", "method", "extra"),
    [
        ("sms", "otpSms", "AUTHENTICATION_METHOD_TYPE_OTP_SMS", {"otp_sms": PHONE}),
        ("email", "otpEmail", "AUTHENTICATION_METHOD_TYPE_OTP_EMAIL", {"otp_email": True}),
    ],
)
def test_a_code_sent_by_sms_or_email_completes_the_sign_in_as_shared_otp(
    channel: str,
    factor: str,
    method: str,
    extra: dict,
    rp: RelyingParty,
    make_user,
    hosted_login: HostedLogin,
    api: httpx.Client,
) -> None:
    user = make_user(["client_admin"], **extra)
    request = rp.authorization()

    location = hosted_login.authorize(request.url, user["login"], user["password"], otp=channel)

    response = rp.exchange(location, verifier=request.verifier)
    _, claims = verify_id_token(rp.idp, response.json()["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    factors = _session(api, claims["sid"])["factors"]
    assert set(factors) == {"user", "password", factor}
    assert factors[factor]["verifiedAt"]
    assert method in _methods(api, user["user_id"])
    assert "AUTHENTICATION_METHOD_TYPE_TOTP" not in _methods(api, user["user_id"])


def _code_page(browser: HostedLogin, rp: RelyingParty, user: dict) -> httpx.Response:
    """Sign in with the password and stop at the code page (which sends a code)."""
    shown = browser.client.get(rp.authorization().url, follow_redirects=True)
    page = browser._submit(
        shown, "login-form", {"loginName": user["login"], "password": user["password"]}
    )
    assert not isinstance(page, str)
    assert "mfa-verify-form" in Page(page.text).forms
    return page


def test_a_wrong_sms_code_is_refused(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["client_admin"], otp_sms=PHONE)
    page = _code_page(hosted_login, rp, user)
    sent = local_idp.latest_code(user["login"], "sms")
    wrong = f"{(int(sent) + 1) % 1_000_000:06d}"

    refused = hosted_login._submit(page, "mfa-verify-form", {"code": wrong})

    assert not isinstance(refused, str)
    assert refused.status_code == 401
    assert "not valid" in Page(refused.text).texts["error"]
    assert local_idp.outbox(user["login"])[-1]["to"] == PHONE


def test_a_new_code_replaces_the_last_one_and_a_code_works_only_once(
    local_idp: LocalIdp, rp: RelyingParty, make_user
) -> None:
    user = make_user(["client_admin"], otp_sms=PHONE)
    with HostedLogin(local_idp) as first, HostedLogin(local_idp) as second:
        first_page = _code_page(first, rp, user)
        replaced = local_idp.latest_code(user["login"], "sms")
        second_page = _code_page(second, rp, user)
        current = local_idp.latest_code(user["login"], "sms")

        stale = first._submit(first_page, "mfa-verify-form", {"code": replaced})
        accepted = first._submit(stale, "mfa-verify-form", {"code": current})  # type: ignore[arg-type]
        replayed = second._submit(second_page, "mfa-verify-form", {"code": current})

    assert not isinstance(stale, str)
    assert stale.status_code == 401
    assert isinstance(accepted, str)
    assert "code=" in accepted
    assert not isinstance(replayed, str)
    assert replayed.status_code == 401


def test_codes_are_enrolled_on_the_security_page_and_then_asked_for(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin, api: httpx.Client
) -> None:
    user = make_user(["client_staff"])
    rp.sign_in(hosted_login, user["login"])

    hosted_login.enrol_otp("sms", PHONE)
    hosted_login.enrol_otp("email")

    methods = _methods(api, user["user_id"])
    assert "AUTHENTICATION_METHOD_TYPE_OTP_SMS" in methods
    assert "AUTHENTICATION_METHOD_TYPE_OTP_EMAIL" in methods
    page = Page(hosted_login.open_security_page())
    assert "set up" in page.texts["otp-sms-status"]
    assert "not set up" not in page.texts["otp-email-status"]
    with HostedLogin(local_idp) as fresh:
        location = fresh.authorize(
            rp.authorization().url, user["login"], user["password"], otp="email"
        )
    assert "code=" in location


def test_codes_removed_on_the_security_page_are_no_longer_listed(
    rp: RelyingParty, make_user, hosted_login: HostedLogin, api: httpx.Client
) -> None:
    user = make_user(["client_staff"])
    rp.sign_in(hosted_login, user["login"])
    hosted_login.enrol_otp("email")

    hosted_login.remove_otp("email")

    assert "AUTHENTICATION_METHOD_TYPE_OTP_EMAIL" not in _methods(api, user["user_id"])
    assert "not set up" in Page(hosted_login.open_security_page()).texts["otp-email-status"]


def test_an_enrolment_with_a_malformed_phone_number_is_refused(
    rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["client_staff"])
    rp.sign_in(hosted_login, user["login"])

    with pytest.raises(HostedLoginError, match="international format"):
        hosted_login.enrol_otp("sms", "0412 345")


def test_the_outbox_is_private_and_codes_never_reach_the_server_log(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["client_admin"], otp_sms=PHONE)
    hosted_login.authorize(rp.authorization().url, user["login"], user["password"], otp="sms")

    outbox = Path(local_idp.data_dir) / "outbox.jsonl"
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o600
    code = local_idp.latest_code(user["login"], "sms")
    assert code not in local_idp.log_text()
