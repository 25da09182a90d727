"""The self-service security page: sign-in, TOTP enrolment and removal, recovery codes."""

from __future__ import annotations

import httpx
import pytest

from tests.idp.conftest import RelyingParty
from tests.support.idp import HostedLogin, HostedLoginError, LocalIdp, Page

PASSWORD_ONLY = ["AUTHENTICATION_METHOD_TYPE_PASSWORD"]
WITH_TOTP = [
    "AUTHENTICATION_METHOD_TYPE_PASSWORD",
    "AUTHENTICATION_METHOD_TYPE_TOTP",
    "AUTHENTICATION_METHOD_TYPE_RECOVERY_CODE",
]


def _methods(api: httpx.Client, user_id: str) -> list[str]:
    response = api.get(f"/v2/users/{user_id}/authentication_methods")
    assert response.status_code == 200
    body = response.json()
    assert body["details"]["totalResult"] == str(len(body["authMethodTypes"]))
    assert body["details"]["timestamp"].endswith("Z")
    return list(body["authMethodTypes"])


def test_security_page_sends_a_signed_out_browser_through_sign_in_and_back(
    local_idp: LocalIdp, password_user, hosted_login: HostedLogin
) -> None:
    page = hosted_login.client.get(
        local_idp.url("/ui/console/users/me?id=security"), follow_redirects=True
    )
    assert "login-form" in Page(page.text).forms

    back = hosted_login._submit(
        page,
        "login-form",
        {"loginName": password_user["login"], "password": password_user["password"]},
    )

    assert not isinstance(back, str)
    assert str(back.url).endswith("/ui/console/users/me?id=security")
    assert Page(back.text).texts["totp-status"] == "Status: not set up."


def test_every_page_shows_the_banner_and_the_way_back_to_the_portal(
    local_idp: LocalIdp, rp: RelyingParty, hosted_login: HostedLogin
) -> None:
    page = hosted_login.client.get(rp.authorization().url, follow_redirects=True)

    parsed = Page(page.text)
    assert "Local development identity provider" in page.text
    assert parsed.links["back-to-portal"] == local_idp.return_url
    assert "Back to AiDial Portal" in parsed.texts["back-to-portal"]
    assert "<script" not in page.text.lower()
    assert '<label for="loginName">Login name</label>' in page.text
    assert '<label for="password">Password</label>' in page.text


def test_enrolment_shows_an_svg_qr_code_and_the_secret_as_text(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user()
    rp.sign_in(hosted_login, user["login"])

    setup = hosted_login.client.get(local_idp.url("/ui/console/users/me/totp"))

    page = Page(setup.text)
    assert "<svg" in setup.text
    assert "<script" not in setup.text.lower()
    assert len(page.texts["totp-secret"]) >= 16
    assert '<label for="code">Code</label>' in setup.text


def test_authentication_methods_follow_enrolment_and_removal(
    local_idp: LocalIdp,
    rp: RelyingParty,
    make_user,
    hosted_login: HostedLogin,
    api: httpx.Client,
) -> None:
    user = make_user()
    rp.sign_in(hosted_login, user["login"])
    assert _methods(api, user["user_id"]) == PASSWORD_ONLY

    enrolment = hosted_login.enrol_totp()

    assert len(enrolment["recovery_codes"]) == 10
    assert _methods(api, user["user_id"]) == WITH_TOTP
    page = Page(hosted_login.open_security_page())
    assert page.texts["recovery-codes-left"] == "10"
    assert "also removes your recovery codes" in hosted_login.open_security_page()

    # The enrolment code counts as a fresh second-factor check: no code needed to remove.
    hosted_login.remove_totp("")

    assert _methods(api, user["user_id"]) == PASSWORD_ONLY
    assert Page(hosted_login.open_security_page()).texts["totp-status"] == "Status: not set up."


def test_recovery_codes_leave_the_methods_once_all_are_used(
    local_idp: LocalIdp, rp: RelyingParty, make_user, api: httpx.Client
) -> None:
    user = make_user(totp=True)
    for code in user["recovery_codes"]:
        with HostedLogin(local_idp) as browser:
            rp.sign_in(browser, user["login"], code=code)

    assert _methods(api, user["user_id"]) == [*PASSWORD_ONLY, "AUTHENTICATION_METHOD_TYPE_TOTP"]


def test_regenerating_recovery_codes_stops_the_old_set(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(totp=True)
    rp.sign_in(hosted_login, user["login"], code=local_idp.totp_code(user["totp_secret"]))

    fresh = hosted_login.regenerate_recovery_codes()

    assert len(fresh) == 10
    assert not set(fresh) & set(user["recovery_codes"])
    assert Page(hosted_login.open_security_page()).texts["recovery-codes-left"] == "10"
    with HostedLogin(local_idp) as browser, pytest.raises(HostedLoginError):
        rp.sign_in(browser, user["login"], code=user["recovery_codes"][1])
    with HostedLogin(local_idp) as browser:
        rp.sign_in(browser, user["login"], code=fresh[1])


def test_removing_totp_right_after_a_second_factor_check_needs_no_code(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(totp=True)
    rp.sign_in(hosted_login, user["login"], code=user["recovery_codes"][0])

    html = hosted_login.open_security_page()

    assert 'id="code"' not in html


def test_removing_totp_without_a_recent_second_factor_check_needs_a_code(
    local_idp: LocalIdp, rp: RelyingParty, make_user, api: httpx.Client
) -> None:
    user = make_user()
    with HostedLogin(local_idp) as first, HostedLogin(local_idp) as second:
        rp.sign_in(first, user["login"])  # password only: no second factor in this session
        rp.sign_in(second, user["login"])
        enrolment = second.enrol_totp()

        assert '<label for="code">Code</label>' in first.open_security_page()
        with pytest.raises(HostedLoginError, match="code is not valid"):
            first.remove_totp("000000")
        assert _methods(api, user["user_id"]) == WITH_TOTP
        first.remove_totp(local_idp.totp_code(enrolment["totp_secret"], offset_steps=1))

    assert _methods(api, user["user_id"]) == PASSWORD_ONLY
