"""The OpenID Connect surface: discovery, the code flow with PKCE, client authentication."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.idp.conftest import (
    ROLES_CLAIM,
    RelyingParty,
    callback_params,
    verify_id_token,
)
from tests.support.idp import HostedLogin, LocalIdp, Page


def test_discovery_names_zitadel_endpoints_and_only_s256_and_rs256(local_idp: LocalIdp) -> None:
    config = httpx.get(local_idp.url("/.well-known/openid-configuration"), timeout=10).json()

    issuer = local_idp.issuer
    assert config["issuer"] == issuer
    assert config["authorization_endpoint"] == f"{issuer}/oauth/v2/authorize"
    assert config["token_endpoint"] == f"{issuer}/oauth/v2/token"
    assert config["jwks_uri"] == f"{issuer}/oauth/v2/keys"
    assert config["userinfo_endpoint"] == f"{issuer}/oidc/v1/userinfo"
    assert config["end_session_endpoint"] == f"{issuer}/oidc/v1/end_session"
    assert config["response_types_supported"] == ["code"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"openid", "profile", "email"} <= set(config["scopes_supported"])
    assert ROLES_CLAIM not in config["scopes_supported"]  # a claim name, not a scope


def test_jwks_publishes_an_rs256_key_with_a_kid(local_idp: LocalIdp) -> None:
    keys = httpx.get(local_idp.url("/oauth/v2/keys"), timeout=10).json()["keys"]

    assert keys
    assert all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["kid"] for k in keys)
    assert not any("d" in k for k in keys)


def test_code_flow_with_pkce_issues_a_zitadel_shaped_id_token(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["partner_admin"], org="Bright Partners")
    before = int(time.time())

    signed_in = rp.sign_in(hosted_login, user["login"])

    claims = signed_in.claims
    assert signed_in.header["alg"] == "RS256"
    assert signed_in.header["kid"]
    assert claims["iss"] == local_idp.issuer
    assert claims["sub"] == user["user_id"]
    assert rp.client_id in claims["aud"]
    assert claims["aud"][-1] == rp.project_id
    assert claims["azp"] == claims["client_id"] == rp.client_id
    assert claims["exp"] > claims["iat"] >= before
    assert claims["auth_time"] >= before
    assert claims["amr"] == ["pwd"]
    assert claims["sid"].isdigit()
    assert len(claims["sid"]) == 18
    assert "acr" not in claims


def test_roles_claim_is_absent_without_the_roles_scope(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user

    signed_in = rp.sign_in(hosted_login, user["login"], scope="openid profile email")

    assert ROLES_CLAIM not in signed_in.claims


def test_userinfo_answers_for_the_access_token(
    local_idp: LocalIdp, rp: RelyingParty, make_user, hosted_login: HostedLogin
) -> None:
    user = make_user(["client_manager"])
    signed_in = rp.sign_in(hosted_login, user["login"])

    response = httpx.get(
        local_idp.url("/oidc/v1/userinfo"),
        headers={"Authorization": f"Bearer {signed_in.tokens['access_token']}"},
        timeout=10,
    )

    assert response.status_code == 200
    info = response.json()
    assert info["sub"] == user["user_id"]
    assert list(info[ROLES_CLAIM]) == ["client_manager"]
    assert "amr" not in info
    assert "sid" not in info


def test_token_request_with_the_wrong_code_verifier_is_refused(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user
    request = rp.authorization()
    location = hosted_login.authorize(request.url, user["login"], user["password"])

    response = rp.exchange(location, verifier="x" * 64)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_token_request_without_the_code_verifier_is_refused_when_a_challenge_was_sent(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user
    request = rp.authorization()
    location = hosted_login.authorize(request.url, user["login"], user["password"])

    response = rp.exchange(location, verifier=None)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_public_client_without_pkce_is_refused(
    public_rp: RelyingParty, hosted_login: HostedLogin
) -> None:
    request = public_rp.authorization(code_challenge=None, code_challenge_method=None)

    response = hosted_login.client.get(request.url)

    assert response.status_code == 302
    params = callback_params(response.headers["Location"])
    assert params["error"] == "invalid_request"
    assert params["state"] == request.state


def test_public_client_with_pkce_signs_in_without_a_secret(
    public_rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user

    signed_in = public_rp.sign_in(hosted_login, user["login"])

    assert public_rp.client_id in signed_in.claims["aud"]
    assert signed_in.claims["aud"][-1] == public_rp.project_id


def test_plain_code_challenge_method_is_refused(
    rp: RelyingParty, hosted_login: HostedLogin
) -> None:
    request = rp.authorization(code_challenge="a" * 43, code_challenge_method="plain")

    response = hosted_login.client.get(request.url)

    assert callback_params(response.headers["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_confidential_client_authenticates_with_its_secret(
    auth: str, rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user
    request = rp.authorization()
    location = hosted_login.authorize(request.url, user["login"], user["password"])

    response = rp.exchange(location, verifier=request.verifier, auth=auth)

    assert response.status_code == 200, response.text
    assert response.json()["token_type"].lower() == "bearer"
    assert "refresh_token" not in response.json()


def test_wrong_client_secret_is_refused(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user
    request = rp.authorization()
    location = hosted_login.authorize(request.url, user["login"], user["password"])
    impostor = RelyingParty(rp.idp, rp.client_id, "not-the-secret", rp.project_id)

    response = impostor.exchange(location, verifier=request.verifier)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_authorization_code_works_once(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user
    request = rp.authorization()
    location = hosted_login.authorize(request.url, user["login"], user["password"])
    assert rp.exchange(location, verifier=request.verifier).status_code == 200

    again = rp.exchange(location, verifier=request.verifier)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_is_never_redirected_to(
    rp: RelyingParty, hosted_login: HostedLogin
) -> None:
    request = rp.authorization(redirect_uri="http://evil.example.test/callback")

    response = hosted_login.client.get(request.url)

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_login_hint_prefills_the_login_name(rp: RelyingParty, hosted_login: HostedLogin) -> None:
    request = rp.authorization(login_hint="someone@example.test")

    response = hosted_login.client.get(request.url, follow_redirects=True)

    form = Page(response.text).forms["login-form"]
    assert form["fields"]["loginName"] == "someone@example.test"


def test_signed_in_browser_gets_a_code_without_signing_in_again(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user
    first = rp.sign_in(hosted_login, user["login"])

    request = rp.authorization()
    response = hosted_login.client.get(request.url)

    assert response.status_code == 302
    location = response.headers["Location"]
    token = rp.exchange(location, verifier=request.verifier).json()
    _, claims = verify_id_token(rp.idp, token["id_token"])
    assert claims["sid"] == first.claims["sid"]


def test_login_hint_for_another_user_asks_to_sign_in_again(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    rp.sign_in(hosted_login, password_user["login"])

    request = rp.authorization(login_hint="someone.else@example.test")
    shown = hosted_login.client.get(request.url, follow_redirects=True)

    form = Page(shown.text).forms["login-form"]
    assert form["fields"]["loginName"] == "someone.else@example.test"


def test_prompt_login_asks_again_and_starts_a_new_session(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user
    first = rp.sign_in(hosted_login, user["login"])
    started = int(time.time())

    request = rp.authorization(prompt="login")
    shown = hosted_login.client.get(request.url, follow_redirects=True)
    assert "login-form" in Page(shown.text).forms
    second = rp.sign_in(hosted_login, user["login"], prompt="login")

    assert second.claims["sid"] != first.claims["sid"]
    assert second.claims["auth_time"] >= max(first.claims["auth_time"], started)


def test_max_age_forces_a_fresh_sign_in_when_the_last_check_is_older(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user
    first = rp.sign_in(hosted_login, user["login"])
    request = rp.authorization(max_age="0")

    shown = hosted_login.client.get(request.url, follow_redirects=True)

    assert "login-form" in Page(shown.text).forms
    second = rp.sign_in(hosted_login, user["login"], max_age="0")
    assert second.claims["sid"] != first.claims["sid"]


def test_prompt_none_without_a_session_answers_login_required(
    rp: RelyingParty, hosted_login: HostedLogin
) -> None:
    request = rp.authorization(prompt="none")

    response = hosted_login.client.get(request.url)

    params = callback_params(response.headers["Location"])
    assert params["error"] == "login_required"
    assert params["state"] == request.state


def test_cookies_have_the_providers_own_names(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    user = password_user
    rp.sign_in(hosted_login, user["login"])

    names = {cookie.name for cookie in hosted_login.client.cookies.jar}

    assert {"aidial_idp_session", "aidial_idp_csrftoken"} <= names
    assert "sessionid" not in names
    assert "csrftoken" not in names
