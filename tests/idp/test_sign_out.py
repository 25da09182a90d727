"""Login V2 sign-out: the ID token hint ends the session; without it the person chooses."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.idp import sdk_contract
from tests.idp.conftest import POST_LOGOUT_URI, RelyingParty, SignIn
from tests.support.idp import HostedLogin, LocalIdp, Page


def _session_status(idp: LocalIdp, token: str, sid: str) -> int:
    response = httpx.get(
        idp.url(f"/v2/sessions/{sid}"), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    sdk_contract.check_response(response)
    return response.status_code


def _still_signed_in(rp: RelyingParty, browser: HostedLogin) -> bool:
    response = browser.client.get(rp.authorization().url)
    return "/ui/login/login" not in response.headers.get("Location", "")


def _signed_in(rp: RelyingParty, browser: HostedLogin, user: dict) -> SignIn:
    return rp.sign_in(browser, user["login"], prompt="login")


def test_sign_out_with_the_id_token_hint_ends_the_session_and_returns_with_state(
    local_idp: LocalIdp, rp: RelyingParty, password_user, hosted_login: HostedLogin, service_token
) -> None:
    signed_in = _signed_in(rp, hosted_login, password_user)

    result = hosted_login.sign_out(
        id_token_hint=signed_in.tokens["id_token"],
        client_id=rp.client_id,
        post_logout_redirect_uri=POST_LOGOUT_URI,
        state="bye",
    )

    assert result == f"{POST_LOGOUT_URI}?state=bye"
    assert not _still_signed_in(rp, hosted_login)
    assert _session_status(local_idp, service_token, signed_in.claims["sid"]) == 404


def test_sign_out_with_a_hint_and_no_return_address_shows_the_signed_out_page(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    signed_in = _signed_in(rp, hosted_login, password_user)

    result = hosted_login.sign_out(id_token_hint=signed_in.tokens["id_token"])

    assert isinstance(result, httpx.Response)
    assert result.status_code == 200
    assert "You are signed out" in result.text
    assert not _still_signed_in(rp, hosted_login)


def test_sign_out_without_a_hint_shows_the_logout_page_and_keeps_the_session(
    local_idp: LocalIdp, rp: RelyingParty, password_user, hosted_login: HostedLogin, service_token
) -> None:
    signed_in = _signed_in(rp, hosted_login, password_user)

    result = hosted_login.sign_out(
        client_id=rp.client_id, post_logout_redirect_uri=POST_LOGOUT_URI, state="s1"
    )

    assert isinstance(result, httpx.Response)
    page = Page(result.text)
    assert "logout-form" in page.forms
    assert password_user["login"] in page.texts["signed-in-as"]
    assert _still_signed_in(rp, hosted_login)
    assert _session_status(local_idp, service_token, signed_in.claims["sid"]) == 200


def test_choosing_sign_out_on_the_logout_page_ends_the_session_and_returns(
    local_idp: LocalIdp, rp: RelyingParty, password_user, hosted_login: HostedLogin, service_token
) -> None:
    signed_in = _signed_in(rp, hosted_login, password_user)

    result = hosted_login.sign_out(
        client_id=rp.client_id,
        post_logout_redirect_uri=POST_LOGOUT_URI,
        state="s2",
        choose_sign_out=True,
    )

    assert result == f"{POST_LOGOUT_URI}?state=s2"
    assert not _still_signed_in(rp, hosted_login)
    assert _session_status(local_idp, service_token, signed_in.claims["sid"]) == 404


def test_an_unregistered_return_address_is_an_error_and_signs_nobody_out(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    signed_in = _signed_in(rp, hosted_login, password_user)

    result = hosted_login.sign_out(
        id_token_hint=signed_in.tokens["id_token"],
        post_logout_redirect_uri="http://evil.example.test/",
    )

    assert isinstance(result, httpx.Response)
    assert result.status_code == 400
    assert "not registered" in Page(result.text).texts["error"]
    assert _still_signed_in(rp, hosted_login)


def test_a_client_id_other_than_the_hints_azp_is_an_error(
    rp: RelyingParty, public_rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    signed_in = _signed_in(rp, hosted_login, password_user)

    result = hosted_login.sign_out(
        id_token_hint=signed_in.tokens["id_token"], client_id=public_rp.client_id
    )

    assert isinstance(result, httpx.Response)
    assert result.status_code == 400
    assert "does not match" in Page(result.text).texts["error"]
    assert _still_signed_in(rp, hosted_login)


def test_a_hint_signed_by_someone_else_is_an_error(
    rp: RelyingParty, password_user, hosted_login: HostedLogin
) -> None:
    signed_in = _signed_in(rp, hosted_login, password_user)
    forger = RSAKey.generate_key(2048, parameters={"kid": signed_in.header["kid"]})
    forged = jwt.encode({"alg": "RS256", "kid": signed_in.header["kid"]}, signed_in.claims, forger)

    result = hosted_login.sign_out(id_token_hint=forged, post_logout_redirect_uri=POST_LOGOUT_URI)

    assert isinstance(result, httpx.Response)
    assert result.status_code == 400
    assert _still_signed_in(rp, hosted_login)


def test_the_logout_page_gets_zitadels_query_the_return_address_with_its_state(
    local_idp: LocalIdp, rp: RelyingParty
) -> None:
    # Zitadel opens Login V2's DefaultLogoutURLV2 followed by the return address with state.
    query = urlencode(
        {"client_id": rp.client_id, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "s9"}
    )
    response = httpx.get(local_idp.url(f"/oidc/v1/end_session?{query}"), timeout=10)

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.path == "/ui/v2/login/logout"
    assert parse_qs(location.query) == {"post_logout_redirect": [f"{POST_LOGOUT_URI}?state=s9"]}


def test_the_logout_page_refuses_a_return_address_no_application_registered(
    local_idp: LocalIdp,
) -> None:
    query = urlencode({"post_logout_redirect": "https://evil.example.test/?state=x"})
    response = httpx.get(local_idp.url(f"/ui/v2/login/logout?{query}"), timeout=10)

    assert response.status_code == 400
    assert "evil.example.test" not in response.headers.get("location", "")
