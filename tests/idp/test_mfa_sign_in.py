"""Second factors at sign-in: what `amr`, `auth_time` and the Session API say, single use,
and the failed-attempt limit."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from tests.idp.conftest import RelyingParty
from tests.support.idp import HostedLogin, HostedLoginError, LocalIdp, Page

WRONG_CREDENTIALS = "The login name or password is not correct."


def _epoch(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp())


def test_password_only_sign_in_gives_amr_pwd_and_a_password_factor(
    rp: RelyingParty, make_user, hosted_login: HostedLogin, api: httpx.Client
) -> None:
    user = make_user()

    signed_in = rp.sign_in(hosted_login, user["login"])

    assert signed_in.claims["amr"] == ["pwd"]
    session = api.get(f"/v2/sessions/{signed_in.claims['sid']}").json()["session"]
    assert set(session["factors"]) == {"user", "password"}


def test_password_and_totp_give_pwd_otp_mfa_and_the_session_names_totp(
    local_idp: LocalIdp,
    rp: RelyingParty,
    make_user,
    hosted_login: HostedLogin,
    api: httpx.Client,
) -> None:
    user = make_user(["partner_admin"], totp=True)

    signed_in = rp.sign_in(
        hosted_login, user["login"], code=local_idp.totp_code(user["totp_secret"])
    )

    claims = signed_in.claims
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    response = api.get(f"/v2/sessions/{claims['sid']}")
    assert response.status_code == 200
    session = response.json()["session"]
    assert session["id"] == claims["sid"]
    factors = session["factors"]
    assert set(factors) == {"user", "password", "totp"}
    assert factors["user"]["id"] == user["user_id"]
    assert factors["user"]["loginName"] == user["login"]
    assert factors["user"]["organizationId"] == user["org_id"]
    assert factors["user"]["displayName"]
    for factor in factors.values():
        assert factor["verifiedAt"].endswith("Z")
    assert claims["auth_time"] == _epoch(factors["totp"]["verifiedAt"])
    for key in ("creationDate", "changeDate", "expirationDate"):
        assert session[key].endswith("Z")
    assert session["sequence"]


def test_a_recovery_code_adds_nothing_to_amr_and_only_the_session_tells(
    rp: RelyingParty, make_user, hosted_login: HostedLogin, api: httpx.Client
) -> None:
    user = make_user(["aidial_operator"], totp=True)

    signed_in = rp.sign_in(hosted_login, user["login"], code=user["recovery_codes"][0])

    claims = signed_in.claims
    # Zitadel's AuthMethodTypesToAMR has no case for a recovery code: not a factor in amr.
    assert claims["amr"] == ["pwd"]
    factors = api.get(f"/v2/sessions/{claims['sid']}").json()["session"]["factors"]
    assert "recoveryCode" in factors
    assert "totp" not in factors
    # A recovery-code check does not move auth_time: it stays at the password check.
    assert claims["auth_time"] == _epoch(factors["password"]["verifiedAt"])


def test_recovery_code_is_accepted_in_lower_case_without_the_hyphen(
    rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(totp=True)
    code = user["recovery_codes"][3].replace("-", "").lower()

    signed_in = rp.sign_in(hosted_login, user["login"], code=code)

    assert signed_in.claims["amr"] == ["pwd"]


def test_a_recovery_code_works_only_once(local_idp: LocalIdp, rp: RelyingParty, make_user) -> None:
    user = make_user(totp=True)
    code = user["recovery_codes"][0]
    with HostedLogin(local_idp) as browser:
        rp.sign_in(browser, user["login"], code=code)

    with HostedLogin(local_idp) as browser, pytest.raises(HostedLoginError) as refused:
        rp.sign_in(browser, user["login"], code=code)

    assert "code is not valid" in refused.value.message


def test_a_totp_code_cannot_be_used_twice(local_idp: LocalIdp, rp: RelyingParty, make_user) -> None:
    user = make_user(totp=True)
    code = local_idp.totp_code(user["totp_secret"])
    with HostedLogin(local_idp) as browser:
        rp.sign_in(browser, user["login"], code=code)

    with HostedLogin(local_idp) as browser, pytest.raises(HostedLoginError) as refused:
        rp.sign_in(browser, user["login"], code=code)

    assert "code is not valid" in refused.value.message
    assert "if you have just used it, wait for the next one" in refused.value.message


def test_the_next_totp_code_is_accepted_after_one_was_used(
    local_idp: LocalIdp, rp: RelyingParty, make_user
) -> None:
    user = make_user(totp=True)
    with HostedLogin(local_idp) as browser:
        rp.sign_in(browser, user["login"], code=local_idp.totp_code(user["totp_secret"]))

    with HostedLogin(local_idp) as browser:
        later = local_idp.totp_code(user["totp_secret"], offset_steps=1)
        signed_in = rp.sign_in(browser, user["login"], code=later)

    assert "otp" in signed_in.claims["amr"]


def test_prompt_login_asks_for_the_second_factor_again(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(totp=True)
    first = rp.sign_in(hosted_login, user["login"], code=user["recovery_codes"][0])

    with pytest.raises(HostedLoginError, match="asks for a code"):
        rp.sign_in(hosted_login, user["login"], prompt="login")
    second = rp.sign_in(
        hosted_login,
        user["login"],
        code=local_idp.totp_code(user["totp_secret"]),
        prompt="login",
    )

    assert second.claims["sid"] != first.claims["sid"]
    assert second.claims["amr"] == ["pwd", "otp", "mfa"]


def test_unknown_user_and_wrong_password_get_the_same_message(
    rp: RelyingParty, make_user, local_idp: LocalIdp
) -> None:
    user = make_user()
    messages = []
    for login, password in ((user["login"], "wrong-password"), ("nobody@example.test", "x")):
        with HostedLogin(local_idp) as browser, pytest.raises(HostedLoginError) as refused:
            browser.authorize(rp.authorization().url, login, password)
        messages.append(refused.value.message)

    assert messages == [WRONG_CREDENTIALS, WRONG_CREDENTIALS]


def test_five_failed_attempts_lock_the_login_name_and_wrong_codes_count(
    local_idp: LocalIdp, rp: RelyingParty, make_user
) -> None:
    user = make_user(totp=True)
    with HostedLogin(local_idp) as browser:
        for _ in range(3):
            with pytest.raises(HostedLoginError, match="login name or password"):
                browser.authorize(rp.authorization().url, user["login"], "wrong-password")
        for _ in range(2):
            with pytest.raises(HostedLoginError, match="code is not valid"):
                browser.authorize(
                    rp.authorization().url, user["login"], user["password"], code="000000"
                )

        with pytest.raises(HostedLoginError) as locked:
            browser.authorize(rp.authorization().url, user["login"], user["password"])

    assert "Too many failed attempts" in locked.value.message


def test_mfa_init_prompt_offers_set_up_and_skip(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    request = rp.authorization(prompt="login")
    page = hosted_login.client.get(request.url, follow_redirects=True)
    form_page = hosted_login._submit(
        page,
        "login-form",
        {"loginName": password_user["login"], "password": password_user["password"]},
    )

    assert not isinstance(form_page, str)
    prompt = Page(form_page.text).forms["mfa-prompt-form"]
    assert ("action", "setup") in prompt["buttons"]
    assert ("action", "skip") in prompt["buttons"]
    assert "Skip for now" in form_page.text


def test_setting_up_totp_from_the_mfa_init_prompt_finishes_the_sign_in_with_mfa(
    rp: RelyingParty, make_user, hosted_login: HostedLogin, api: httpx.Client
) -> None:
    user = make_user(["partner_admin"])
    request = rp.authorization()

    location = hosted_login.authorize(request.url, user["login"], user["password"], setup_totp=True)

    assert hosted_login.last_enrolment is not None
    assert len(hosted_login.last_enrolment["recovery_codes"]) == 10
    token = rp.exchange(location, verifier=request.verifier).json()
    from tests.idp.conftest import verify_id_token

    _, claims = verify_id_token(rp.idp, token["id_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    methods = api.get(f"/v2/users/{user['user_id']}/authentication_methods").json()
    assert "AUTHENTICATION_METHOD_TYPE_TOTP" in methods["authMethodTypes"]
