"""The official SDK (``zitadel-client``) against the local provider: its models parse every
answer, and its client reads sessions and authentication methods over the Connect paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from zitadel_client import Zitadel
from zitadel_client.exceptions import ApiError
from zitadel_client.models import (
    SessionServiceGetSessionRequest,
    UserServiceAuthenticationMethodType,
    UserServiceListAuthenticationMethodTypesRequest,
)

from tests.idp import sdk_contract
from tests.idp.conftest import RelyingParty, verify_id_token
from tests.support.idp import HostedLogin, LocalIdp, totp_code

PHONE = "+61412345678"
CONNECT_SESSION = "/zitadel.session.v2.SessionService/GetSession"
CONNECT_METHODS = "/zitadel.user.v2.UserService/ListAuthenticationMethodTypes"


def _sid_after(rp: RelyingParty, browser: HostedLogin, user: dict[str, Any], **how: Any) -> str:
    request = rp.authorization()
    location = browser.authorize(request.url, user["login"], user["password"], **how)
    tokens = rp.exchange(location, verifier=request.verifier).json()
    return str(verify_id_token(rp.idp, tokens["id_token"])[1]["sid"])


@pytest.fixture(scope="module")
def everything_user(local_idp: LocalIdp) -> dict[str, Any]:
    """A person with every factor the provider offers."""
    made = local_idp.add_user(
        "sdk.everything@example.test",
        "Correct-horse-7!",
        ["client_admin"],
        totp=True,
        otp_sms=PHONE,
        otp_email=True,
    )
    return {**made, "password": "Correct-horse-7!"}


@pytest.mark.parametrize(
    ("how", "factor"),
    [
        ("totp", "totp"),
        ("recovery", "recovery_code"),
        ("sms", "otp_sms"),
        ("email", "otp_email"),
    ],
)
def test_every_second_factor_in_the_session_api_parses_with_the_sdk(
    how: str,
    factor: str,
    local_idp: LocalIdp,
    rp: RelyingParty,
    everything_user: dict[str, Any],
    api: httpx.Client,
) -> None:
    user = everything_user
    options: dict[str, Any] = {
        "totp": {"code": totp_code(user["totp_secret"], offset_steps=0)},
        "recovery": {"code": user["recovery_codes"][0]},
        "sms": {"otp": "sms"},
        "email": {"otp": "email"},
    }[how]
    with HostedLogin(local_idp) as browser:
        sid = _sid_after(rp, browser, user, **options)

    for path in (f"/v2/sessions/{sid}", CONNECT_SESSION):
        if path == CONNECT_SESSION:
            response = api.post(path, json={"sessionId": sid})
        else:
            response = api.get(path)
        parsed = sdk_contract.parse(path, response.json())
        factors = parsed.session.factors  # type: ignore[attr-defined]
        assert getattr(factors, factor).verified_at is not None
        assert factors.user.id == user["user_id"]
        assert factors.password.verified_at is not None


def test_every_authentication_method_parses_with_the_sdk(
    everything_user: dict[str, Any], api: httpx.Client
) -> None:
    user_id = everything_user["user_id"]

    rest = api.get(f"/v2/users/{user_id}/authentication_methods").json()
    connect = api.post(CONNECT_METHODS, json={"userId": user_id}).json()

    for path, body in (("/authentication_methods", rest), (CONNECT_METHODS, connect)):
        parsed = sdk_contract.parse(path, body)
        assert set(parsed.auth_method_types) == {  # type: ignore[attr-defined]
            UserServiceAuthenticationMethodType.AUTHENTICATION_METHOD_TYPE_PASSWORD,
            UserServiceAuthenticationMethodType.AUTHENTICATION_METHOD_TYPE_TOTP,
            UserServiceAuthenticationMethodType.AUTHENTICATION_METHOD_TYPE_OTP_SMS,
            UserServiceAuthenticationMethodType.AUTHENTICATION_METHOD_TYPE_OTP_EMAIL,
            UserServiceAuthenticationMethodType.AUTHENTICATION_METHOD_TYPE_RECOVERY_CODE,
        }


def test_every_api_answer_through_the_api_fixture_is_checked_with_the_sdk(
    everything_user: dict[str, Any], api: httpx.Client
) -> None:
    before = len(sdk_contract.checked)

    api.get(f"/v2/users/{everything_user['user_id']}/authentication_methods")
    api.post(CONNECT_METHODS, json={"userId": everything_user["user_id"]})

    assert sdk_contract.checked[before:] == [
        f"/v2/users/{everything_user['user_id']}/authentication_methods",
        CONNECT_METHODS,
    ]


def test_a_field_the_sdk_does_not_know_is_caught() -> None:
    answer = {"session": {"id": "1", "factors": {"otpSMS": {"verifiedAt": "2026-01-01T00:00:00Z"}}}}

    with pytest.raises(AssertionError, match="otpSMS"):
        sdk_contract.parse("/v2/sessions/1", answer)


@pytest.fixture(scope="module")
def signed_in_session(local_idp: LocalIdp, rp: RelyingParty, everything_user) -> str:
    with HostedLogin(local_idp) as browser:
        return _sid_after(rp, browser, everything_user, otp="email")


def _sdk_reads(sdk: Zitadel, sid: str, user_id: str) -> None:
    session = sdk.sessions.get_session(SessionServiceGetSessionRequest(session_id=sid)).session
    methods = sdk.users.list_authentication_method_types(
        UserServiceListAuthenticationMethodTypesRequest(user_id=user_id)
    ).auth_method_types
    assert session is not None
    assert session.id == sid
    assert session.factors.user.id == user_id
    assert session.factors.otp_email.verified_at is not None
    assert UserServiceAuthenticationMethodType.AUTHENTICATION_METHOD_TYPE_OTP_SMS in methods


def test_the_sdk_client_reads_a_session_and_methods_with_a_personal_access_token(
    local_idp: LocalIdp, signed_in_session: str, everything_user, service_token: str
) -> None:
    with Zitadel.with_access_token(local_idp.issuer, service_token) as sdk:
        _sdk_reads(sdk, signed_in_session, everything_user["user_id"])


def test_the_sdk_client_reads_a_session_and_methods_with_a_key_file(
    local_idp: LocalIdp, signed_in_session: str, everything_user, tmp_path: Path
) -> None:
    key_file = local_idp.service_key(tmp_path / "key.json")

    with Zitadel.with_private_key(local_idp.issuer, key_file["path"]) as sdk:
        _sdk_reads(sdk, signed_in_session, everything_user["user_id"])


def test_the_sdk_client_sees_an_ended_session_as_not_found(
    local_idp: LocalIdp, service_token: str
) -> None:
    with (
        Zitadel.with_access_token(local_idp.issuer, service_token) as sdk,
        pytest.raises(ApiError) as refused,
    ):
        sdk.sessions.get_session(SessionServiceGetSessionRequest(session_id="1"))

    assert refused.value.code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [(CONNECT_SESSION, {"sessionId": "999999999999999999"}), (CONNECT_METHODS, {"userId": "9"})],
)
def test_connect_paths_answer_connect_errors(
    local_idp: LocalIdp, api: httpx.Client, path: str, body: dict[str, str]
) -> None:
    missing = api.post(path, json=body)
    no_token = httpx.post(local_idp.url(path), json=body, timeout=10)
    bad_body = api.post(path, content=b"not json", headers={"Content-Type": "application/json"})
    no_id = api.post(path, json={})
    wrong_method = api.get(path)

    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert (no_token.status_code, no_token.json()["code"]) == (401, "unauthenticated")
    assert (bad_body.status_code, bad_body.json()["code"]) == (400, "invalid_argument")
    assert (no_id.status_code, no_id.json()["code"]) == (400, "invalid_argument")
    assert wrong_method.status_code == 405
    assert missing.json()["message"]
