"""After the absolute session limit the next sign-in must prove the person's credentials again:
silent SSO at the provider would otherwise start a new 12 hours without anyone typing anything.
The portal asks with `prompt=login` and `max_age=0` and checks `auth_time` itself (Login V2
does not enforce `max_age`)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from aidial_portal.accounts import sign_in as flow
from aidial_portal.identity import providers
from aidial_portal.identity.claims import Grant, Profile
from aidial_portal.identity.oidc import PENDING_KEY, Identity, Pending, SignIn
from tests.identity.provider import ISSUER
from tests.support.portal import evidence

from .conftest import Person
from .test_lifetimes import age

pytestmark = pytest.mark.django_db


class Discovery:
    def metadata(self) -> dict[str, str]:
        return {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/oauth/v2/authorize",
            "token_endpoint": f"{ISSUER}/oauth/v2/token",
        }


@pytest.fixture(autouse=True)
def _provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "directory", functools.cache(Discovery))


def asks(client: Client) -> dict[str, list[str]]:
    response = client.post("/login/")
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)


def ended_by_its_absolute_limit(person: Person) -> None:
    age(person, signed_in=timedelta(seconds=43200), seen=timedelta(seconds=5))
    assert person.client.get("/").status_code == 302


def test_after_the_absolute_limit_the_next_sign_in_asks_for_credentials(
    signed_in: Callable[..., Person],
) -> None:
    alice = signed_in()
    ended_by_its_absolute_limit(alice)

    asked = asks(alice.client)

    assert asked["prompt"] == ["login"]
    assert asked["max_age"] == ["0"]


def test_an_ordinary_sign_in_allows_single_sign_on() -> None:
    asked = asks(Client())
    assert "prompt" not in asked
    assert "max_age" not in asked


def test_a_silent_sign_in_after_the_absolute_limit_is_refused(
    signed_in: Callable[..., Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = signed_in()
    ended_by_its_absolute_limit(alice)
    asks(alice.client)
    pending = Pending(**next(iter(alice.client.session[PENDING_KEY].values())))
    # The provider answered from its old session: auth_time is 13 hours ago.
    stale = int(time.time()) - 13 * 3600
    answer = SignIn(claims={"sub": "user-1", "auth_time": stale}, pending=pending)
    monkeypatch.setattr(flow.oidc, "exchange_code", lambda *a, **k: {"id_token": "x"})
    monkeypatch.setattr(flow.oidc, "id_token_claims", lambda *a, **k: answer.claims)
    identity = Identity("user-1", Profile("user-1@example.test"), (Grant("client_staff", "o"),))
    monkeypatch.setattr(flow, "read_identity_and_evidence", lambda _: (identity, evidence()))

    response = alice.client.get(f"/oidc/callback/?code=c&state={pending.state}")

    assert response.status_code == 400
    assert not alice.is_signed_in()
