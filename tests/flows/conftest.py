"""Full sign-in flows: the portal (Django's test client) against a real local provider.

The provider runs as its own process on loopback; the portal talks to it over real HTTP for
discovery, the token exchange, JWKS, and the Session and User APIs. HostedLogin plays the
person's browser at the provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from aidial_portal.config import SECURITY_PAGE_PATH
from aidial_portal.identity import oidc, providers
from tests.support import audiences
from tests.support.idp import HostedLogin, LocalIdp, Person


@pytest.fixture(scope="session")
def registration(local_idp: LocalIdp) -> dict[str, Any]:
    client = local_idp.add_client(
        "http://testserver/oidc/callback/", post_logout_uri="http://testserver/signed-out/"
    )
    client["service_token"] = local_idp.service_token()
    return client


def other_applications(local_idp: LocalIdp, client_id: str) -> frozenset[str]:
    return audiences.other_applications(local_idp.data_dir, client_id)


@pytest.fixture
def wired(settings: Any, local_idp: LocalIdp, registration: dict[str, Any]) -> Iterator[None]:
    """Point the portal at the test provider."""
    settings.AIDIAL = replace(
        settings.AIDIAL,
        base_url="http://testserver",
        issuer=local_idp.issuer,
        api_url=local_idp.issuer,
        client_id=registration["client_id"],
        client_secret=registration["client_secret"],
        project_id=registration["project_id"],
        extra_audiences=other_applications(local_idp, registration["client_id"]),
        service_token=registration["service_token"],
        security_url=local_idp.issuer + SECURITY_PAGE_PATH,
        management_url=local_idp.issuer + SECURITY_PAGE_PATH,
    )
    yield
    providers.reset()


@pytest.fixture
def person(local_idp: LocalIdp) -> Callable[..., Person]:
    def make(*roles: str, totp: bool = False, org: str | None = None) -> Person:
        return local_idp.new_person(*roles, totp=totp, org=org, domain="flows.test")

    return make


@pytest.fixture
def browser(local_idp: LocalIdp) -> Iterator[HostedLogin]:
    with HostedLogin(local_idp) as hosted:
        yield hosted


@pytest.fixture
def issued_tokens(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every token response the portal receives from the provider, as it received it."""
    tokens: list[dict[str, Any]] = []
    exchange_code = oidc.exchange_code

    def keep_token(*args: Any, **kwargs: Any) -> Any:
        token = exchange_code(*args, **kwargs)
        tokens.append(dict(token))
        return token

    monkeypatch.setattr(oidc, "exchange_code", keep_token)
    return tokens


def callback_path(final_url: str) -> str:
    parts = urlsplit(final_url)
    assert parts.netloc == "testserver", final_url
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def sign_in(client: Client, browser: HostedLogin, wired: None) -> Callable[..., Any]:
    """Sign in through the portal's /login/ and the provider's hosted pages; returns the
    portal's response to the callback."""

    def run(
        who: Person, *, code: str | None = None, next_path: str = "/", webauthn: str | None = None
    ) -> Any:
        start = client.post("/login/", {"next": next_path})
        assert start.status_code == 302, start.content
        final = browser.authorize(
            start["Location"], who.login, who.password, code=code, webauthn=webauthn
        )
        return client.get(callback_path(final))

    return run


@pytest.fixture
def refresh(client: Client, browser: HostedLogin, wired: None) -> Callable[..., Any]:
    """Refresh security status: a fresh sign-in at the provider that returns to Settings."""

    def run(who: Person, *, code: str | None = None) -> Any:
        start = client.post("/settings/refresh/")
        assert start.status_code == 302, start.content
        final = browser.authorize(start["Location"], who.login, who.password, code=code)
        return client.get(callback_path(final))

    return run
