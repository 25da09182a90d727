"""Signed-in portal sessions bound to Zitadel sessions, and a provider that signs logout tokens."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from django.test import Client

from aidial_portal.accounts import sign_in as flow
from aidial_portal.accounts.models import Account
from aidial_portal.identity import providers
from aidial_portal.identity.claims import Grant, Profile
from aidial_portal.identity.oidc import Identity, Pending, SignIn
from aidial_portal.identity.tokens import BACKCHANNEL_LOGOUT_EVENT
from tests.identity.provider import (
    CLIENT_ID,
    DROP,
    ISSUER,
    PROJECT_ID,
    FakeKeys,
    mint,
    public,
    signing_key,
)
from tests.support.portal import bound_browser, evidence

ENDPOINT = "/oidc/backchannel-logout/"


@dataclass
class Person:
    """A browser signed in to the portal from one Zitadel session."""

    client: Client
    account: Account
    sid: str

    def is_signed_in(self) -> bool:
        response = self.client.get("/", HTTP_ACCEPT="application/json")
        return response.status_code == 200


@dataclass
class FakeDirectory(FakeKeys):
    """The provider's keys and its discovery document (sign-out reads the end-session URL)."""

    def metadata(self) -> dict[str, Any]:
        return {"issuer": ISSUER, "end_session_endpoint": f"{ISSUER}/oidc/v1/end_session"}


@pytest.fixture
def provider(settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakeKeys:
    """The portal trusts the test provider's issuer, client id, keys and discovery."""
    settings.AIDIAL = replace(
        settings.AIDIAL,
        issuer=ISSUER,
        client_id=CLIENT_ID,
        # As a deployment names it (AIDIAL_ZITADEL_PROJECT_ID): Zitadel puts it in `aud`.
        project_id=PROJECT_ID,
    )
    keys = FakeDirectory(public(signing_key("key-1")))
    monkeypatch.setattr(providers, "directory", functools.cache(lambda: keys))
    return keys


@pytest.fixture
def signed_in(db: None) -> Callable[..., Person]:
    """`signed_in(sub, sid)`: a new browser, signed in and bound as the callback binds it."""

    def sign_in(sub: str = "user-1", sid: str = "sid-1") -> Person:
        client, account = bound_browser(sub, sid, issuer=ISSUER)
        return Person(client=client, account=account, sid=sid)

    return sign_in


@pytest.fixture
def callback_signs_in(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """`callback_signs_in(sub, sid)`: the next `/oidc/callback/` validates as that person's."""

    def arrange(sub: str, sid: str) -> None:
        now = int(time.time())
        claims = {"sub": sub, "sid": sid, "auth_time": now, "iat": now}
        pending = Pending("s", "n", "v", "/", time.time(), "sign_in")
        answer = SignIn(claims=claims, pending=pending, id_token="header.payload.signature")
        identity = Identity(
            subject=sub,
            profile=Profile(login_name=f"{sub}@example.test"),
            grants=(Grant("client_staff", "org-1"),),
        )
        monkeypatch.setattr(flow.oidc, "complete", lambda *args, **kwargs: answer)
        monkeypatch.setattr(flow, "read_identity_and_evidence", lambda _: (identity, evidence()))

    return arrange


def logout_claims(**changes: Any) -> dict[str, Any]:
    """A logout token's claims as Zitadel sends them when session `sid-1` of user-1 ends."""
    values: dict[str, Any] = {
        "iss": ISSUER,
        "aud": [CLIENT_ID, PROJECT_ID],
        "iat": int(time.time()),
        "exp": int(time.time()) + 300,
        "jti": uuid.uuid4().hex,
        "sub": "user-1",
        "sid": "sid-1",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not DROP}


def logout_token(payload: dict[str, Any] | None = None, **header: Any) -> str:
    return mint(logout_claims() if payload is None else payload, typ="logout+jwt", **header)


def post_logout(client: Client, token: str) -> Any:
    return client.post(ENDPOINT, {"logout_token": token})
