"""Rate limits on the routes anyone can call at will: 429 with Retry-After and a page that
names Help; counted per account when signed in, else per client address; a flood from one
address never blocks a person using the portal from another."""

from __future__ import annotations

import functools
import time
from typing import Any

import pytest
from django.test import Client

from aidial_portal import config
from aidial_portal.accounts import sign_in as flow
from aidial_portal.config import DEFAULT_RATE_LIMITS, RateLimits
from aidial_portal.identity import providers
from aidial_portal.identity.claims import Grant, Profile
from aidial_portal.identity.oidc import Identity, Pending, SignIn, SignInRejected
from aidial_portal.identity.rejections import Rejection
from aidial_portal.web.rate_limits import rate_limited
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db
ISSUER = "http://127.0.0.1:8080"
PERSON, FLOOD, PROXY = "192.0.2.10", "203.0.113.66", "10.0.0.2"


class Discovery:
    def metadata(self) -> dict[str, str]:
        return {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/oauth/v2/authorize"}


@pytest.fixture(autouse=True)
def provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "directory", functools.cache(Discovery))


@pytest.fixture
def callback_signs_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """A callback with `state=s` completes as user-1 (a sign-in, or a refresh when signed
    in); any other state is refused, as junk is."""

    def complete(session: Any, params: Any, **kwargs: Any) -> SignIn:
        if params.get("state") != "s":
            raise SignInRejected(Rejection.STATE_INVALID)
        now = int(time.time())
        return SignIn(
            claims={"sub": "user-1", "sid": "sid-1", "auth_time": now},
            pending=Pending("s", "n", "v", "/settings/", time.time(), "sign_in"),
            id_token="header.payload.signature",
        )

    identity = Identity("user-1", Profile("pat@example.test"), (Grant("client_staff", "o"),))
    monkeypatch.setattr(flow.oidc, "complete", complete)
    monkeypatch.setattr(flow, "read_identity_and_evidence", lambda _: (identity, evidence()))


def limits(portal_config: Any, **rates: str) -> None:
    portal_config(rate_limits=RateLimits({**DEFAULT_RATE_LIMITS, **rates}))


def test_too_many_sign_ins_from_one_address_get_429_naming_help(client, portal_config):
    limits(portal_config, login="3/m")
    for _ in range(3):
        assert client.post("/login/", REMOTE_ADDR=FLOOD).status_code == 302

    response = client.post("/login/", REMOTE_ADDR=FLOOD, HTTP_ACCEPT="text/html")

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    page = response.content.decode()
    assert "Too many requests" in page
    assert 'href="/help/"' in page
    assert "help@aidial.com.au" in page
    # Another address is not affected.
    assert client.post("/login/", REMOTE_ADDR=PERSON).status_code == 302


def test_a_machine_gets_a_problem_document(client, portal_config):
    limits(portal_config, backchannel="2/m")
    for _ in range(2):
        client.post("/oidc/backchannel-logout/", {"logout_token": "x"}, REMOTE_ADDR=FLOOD)

    response = client.post("/oidc/backchannel-logout/", {"logout_token": "x"}, REMOTE_ADDR=FLOOD)

    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["reason"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1


def test_behind_the_trusted_proxy_each_forwarded_client_has_its_own_limit(client, portal_config):
    portal_config(trust_proxy=True)
    limits(portal_config, callback="5/m")
    for _ in range(6):
        client.get("/oidc/callback/?state=junk", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=FLOOD)

    response = client.get(
        "/oidc/callback/?state=junk", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=PERSON
    )

    assert response.status_code == 400  # refused as junk, not as one more of the flood's


def test_a_signed_in_person_is_limited_by_account_wherever_they_are(
    client, sign_in_as, portal_config
):
    limits(portal_config, support="2/10m")
    sign_in_as(["client_staff"])
    message = {"subject": "Export", "message": "The export button does nothing."}
    for address in ("192.0.2.1", "192.0.2.2"):
        assert client.post("/support/", message, REMOTE_ADDR=address).status_code == 302

    response = client.post("/support/", message, REMOTE_ADDR="192.0.2.3", HTTP_ACCEPT="text/html")

    assert response.status_code == 429
    assert "Help" in response.content.decode()


def test_a_person_is_never_blocked_by_a_running_flood_from_another_address(
    portal_config, callback_signs_in
):
    limits(portal_config, login="10/m", callback="10/m")
    flood, person = Client(), Client()
    refused = 0

    def flood_a_little() -> None:
        nonlocal refused
        for _ in range(15):
            refused += flood.post("/login/", REMOTE_ADDR=FLOOD).status_code == 429
            refused += flood.get("/oidc/callback/?state=x", REMOTE_ADDR=FLOOD).status_code == 429

    steps = [
        lambda: person.get("/login/", REMOTE_ADDR=PERSON),
        lambda: person.post("/login/", REMOTE_ADDR=PERSON),
        lambda: person.get("/oidc/callback/?code=c&state=s", REMOTE_ADDR=PERSON),
        lambda: person.get("/settings/", REMOTE_ADDR=PERSON),
        lambda: person.post("/settings/refresh/", REMOTE_ADDR=PERSON),
        lambda: person.get("/oidc/callback/?code=c&state=s", REMOTE_ADDR=PERSON),
        lambda: person.get("/settings/", REMOTE_ADDR=PERSON),
        lambda: person.post("/settings/recovery-codes/acknowledge/", REMOTE_ADDR=PERSON),
        lambda: person.get("/settings/", REMOTE_ADDR=PERSON),
    ]
    for step in steps:
        flood_a_little()
        response = step()
        assert response.status_code in {200, 302}, (response.status_code, response.content[:200])

    assert refused > 100  # the flood was being refused all along


def test_the_limiter_is_a_decorator_any_view_can_wear(rf, portal_config):
    limits(portal_config, zitadel_events="1/m")

    @rate_limited("zitadel_events")
    def receive(request: Any) -> Any:
        from django.http import HttpResponse

        return HttpResponse(status=204)

    first = rf.post("/zitadel/events/", REMOTE_ADDR=FLOOD)
    first.session = {}
    second = rf.post("/zitadel/events/", REMOTE_ADDR=FLOOD)
    second.session = {}
    assert receive(first).status_code == 204
    assert receive(second).status_code == 429


def test_limits_are_settings_checked_at_start_up():
    env = {"AIDIAL_RATE_LIMIT_LOGIN": "5/m", "AIDIAL_RATE_LIMIT_SUPPORT": "3/10m"}
    limits_read = config.from_env(env).rate_limits
    assert limits_read.rate("login") == "5/m"
    assert limits_read.rate("support") == "3/10m"
    assert limits_read.rate("callback") == DEFAULT_RATE_LIMITS["callback"]
    for bad in ("many", "0/m", "5/week", "5"):
        with pytest.raises(config.ConfigError, match="AIDIAL_RATE_LIMIT_LOGIN"):
            config.from_env({"AIDIAL_RATE_LIMIT_LOGIN": bad})
