"""Passkeys and security keys at the local provider (marked by `idp add-user --passkey /
--security-key`): the Session API's `webAuthN` factor, the authentication methods and `amr`,
checked with the official SDK's models (`SessionServiceWebAuthNFactor`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from zitadel_client.models import UserServiceAuthenticationMethodType as Method

from tests.idp import sdk_contract
from tests.idp.conftest import RelyingParty, verify_id_token
from tests.support.idp import HostedLogin, LocalIdp

PASSWORD = "Correct-horse-7!"


@pytest.mark.parametrize(
    ("flag", "method", "user_verified", "enrolled"),
    [
        ("passkey", "passkey", True, Method.AUTHENTICATION_METHOD_TYPE_PASSKEY),
        ("security_key", "security_key", False, Method.AUTHENTICATION_METHOD_TYPE_U2_F),
    ],
)
def test_a_webauthn_sign_in_shows_the_factor_as_zitadel_does(
    flag: str,
    method: str,
    user_verified: bool,
    enrolled: Method,
    local_idp: LocalIdp,
    rp: RelyingParty,
    api: httpx.Client,
) -> None:
    login = f"webauthn.{flag}@example.test"
    user = local_idp.add_user(login, PASSWORD, ["aidial_admin"], **{flag: True})
    with HostedLogin(local_idp) as browser:
        request = rp.authorization()
        location = browser.authorize(request.url, login, PASSWORD, webauthn=method)
    tokens = rp.exchange(location, verifier=request.verifier).json()
    claims = verify_id_token(rp.idp, tokens["id_token"])[1]
    assert claims["amr"] == ["pwd", "user", "mfa"]

    session: Any = sdk_contract.parse(
        "/v2/sessions/", api.get(f"/v2/sessions/{claims['sid']}").json()
    )
    webauthn = session.session.factors.web_auth_n
    assert webauthn.verified_at is not None
    assert webauthn.user_verified is user_verified
    assert session.session.factors.totp is None

    methods: Any = sdk_contract.parse(
        "/authentication_methods",
        api.get(f"/v2/users/{user['user_id']}/authentication_methods").json(),
    )
    assert enrolled in methods.auth_method_types
