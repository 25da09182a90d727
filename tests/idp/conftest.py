"""Fixtures for the local identity provider's own tests: one provider for the session, a
relying party that speaks the protocol by hand, and users made per test."""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.idp import sdk_contract
from tests.support.idp import HostedLogin, LocalIdp, hosted_login, local_idp

__all__ = ["hosted_login", "local_idp"]

PASSWORD = "Correct-horse-7!"
REDIRECT_URI = "http://rp.example.test/callback"
POST_LOGOUT_URI = "http://rp.example.test/signed-out"
ROLES_CLAIM = "urn:zitadel:iam:org:project:roles"


def portal_scopes(project_id: str) -> str:
    """What the portal asks for: profile, e-mail, and the project's roles (Zitadel's way)."""
    return (
        "openid profile email urn:zitadel:iam:org:projects:roles "
        f"urn:zitadel:iam:org:project:id:{project_id}:aud"
    )


_users = itertools.count(1)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class AuthRequest:
    url: str
    state: str
    nonce: str
    verifier: str


@dataclass
class SignIn:
    location: str
    tokens: dict[str, Any]
    claims: dict[str, Any]
    header: dict[str, Any] = field(default_factory=dict)


@dataclass
class RelyingParty:
    """A client of the provider, doing by hand what the portal's OIDC client does."""

    idp: LocalIdp
    client_id: str
    client_secret: str
    project_id: str
    public: bool = False

    def authorization(self, **overrides: str | None) -> AuthRequest:
        verifier = secrets.token_urlsafe(48)
        params: dict[str, str | None] = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": portal_scopes(self.project_id),
            "redirect_uri": REDIRECT_URI,
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return AuthRequest(
            url=self.idp.url(f"/oauth/v2/authorize?{query}"),
            state=params["state"] or "",
            nonce=params["nonce"] or "",
            verifier=verifier,
        )

    def exchange(
        self, location: str, *, verifier: str | None, auth: str = "basic"
    ) -> httpx.Response:
        code = callback_params(location)["code"]
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        if verifier is not None:
            data["code_verifier"] = verifier
        headers = {}
        if auth == "basic":
            # RFC 6749 §2.3.1: form-encode id and secret, then HTTP Basic.
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif auth == "post":
            data.update(client_id=self.client_id, client_secret=self.client_secret)
        else:
            data["client_id"] = self.client_id
        with httpx.Client(timeout=10.0) as client:
            return client.post(self.idp.url("/oauth/v2/token"), data=data, headers=headers)

    def sign_in(
        self,
        browser: HostedLogin,
        login: str,
        password: str = PASSWORD,
        *,
        code: str | None = None,
        **overrides: str | None,
    ) -> SignIn:
        request = self.authorization(**overrides)
        location = browser.authorize(request.url, login, password, code=code)
        params = callback_params(location)
        assert params.get("state") == request.state, location
        auth = "none" if self.public else "basic"
        response = self.exchange(location, verifier=request.verifier, auth=auth)
        assert response.status_code == 200, response.text
        tokens = response.json()
        header, claims = verify_id_token(self.idp, tokens["id_token"])
        assert claims["nonce"] == request.nonce
        return SignIn(location, tokens, claims, header)


def callback_params(location: str) -> dict[str, str]:
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI, location
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def verify_id_token(idp: LocalIdp, id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    with httpx.Client(timeout=10.0) as client:
        jwks = client.get(idp.url("/oauth/v2/keys")).json()
    token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    return dict(token.header), dict(token.claims)


@pytest.fixture(scope="session")
def rp(local_idp: LocalIdp) -> RelyingParty:
    client = local_idp.add_client(REDIRECT_URI, post_logout_uri=POST_LOGOUT_URI)
    return RelyingParty(
        local_idp, client["client_id"], client["client_secret"], client["project_id"]
    )


@pytest.fixture(scope="session")
def asserting_rp(local_idp: LocalIdp) -> RelyingParty:
    """A client with both of Zitadel's ID-token assertion settings on."""
    client = local_idp.add_client(
        REDIRECT_URI, post_logout_uri=POST_LOGOUT_URI, id_token_roles=True, id_token_userinfo=True
    )
    return RelyingParty(
        local_idp, client["client_id"], client["client_secret"], client["project_id"]
    )


@pytest.fixture(scope="session")
def public_rp(local_idp: LocalIdp) -> RelyingParty:
    client = local_idp.add_client(REDIRECT_URI, public=True)
    return RelyingParty(local_idp, client["client_id"], "", client["project_id"], public=True)


@pytest.fixture(scope="session")
def service_token(local_idp: LocalIdp) -> str:
    return local_idp.service_token()


@pytest.fixture
def make_user(local_idp: LocalIdp) -> Callable[..., dict[str, Any]]:
    """A fresh user per call, so that failed-attempt counts and used codes never leak
    between tests."""

    def make(
        roles: list[str] | None = None,
        *,
        totp: bool = False,
        org: str | None = None,
        grants: list[tuple[str, str]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        login = f"user{next(_users)}.{secrets.token_hex(3)}@example.test"
        created = local_idp.add_user(
            login,
            PASSWORD,
            ["client_staff"] if roles is None else roles,
            org=org,
            totp=totp,
            grants=grants or (),
            **extra,
        )
        return {**created, "password": PASSWORD}

    return make


@pytest.fixture(scope="session")
def password_user(local_idp: LocalIdp) -> dict[str, Any]:
    """A user with a password only, shared by tests that never fail a check with it."""
    created = local_idp.add_user("shared.password@example.test", PASSWORD, ["client_staff"])
    return {**created, "password": PASSWORD}


@pytest.fixture
def api(local_idp: LocalIdp, service_token: str) -> Iterator[httpx.Client]:
    """The Zitadel API with the service user's token; every answer is checked against the
    official SDK's models (tests/idp/sdk_contract.py)."""
    with httpx.Client(
        base_url=local_idp.issuer,
        timeout=10.0,
        headers={"Authorization": f"Bearer {service_token}"},
        event_hooks={"response": [sdk_contract.check_response]},
    ) as client:
        yield client
