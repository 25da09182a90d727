"""`POST /oidc/backchannel-logout/`: a valid logout token ends exactly the sessions it names;
anything else is refused with 400 and ends nothing."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from django.test import Client
from joserfc.jwk import RSAKey

from aidial_portal.audit.models import SecurityEvent
from aidial_portal.sessions.models import SessionBinding, SpentLogoutToken
from tests.identity.provider import (
    CLIENT_ID,
    DROP,
    ISSUER,
    PROJECT_ID,
    FakeKeys,
    claims,
    mint,
    signing_key,
    unsigned,
)

from .conftest import ENDPOINT, Person, logout_claims, logout_token, post_logout

pytestmark = pytest.mark.django_db

OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "key-1"})
# The provider's own key, without its `alg` pin, so that it can sign with RS512.
RS512_KEY = RSAKey.import_key(
    {k: v for k, v in signing_key("key-1").as_dict(private=True).items() if k != "alg"}
)

MALFORMED: dict[str, Callable[[], str]] = {
    "bad_signature": lambda: mint(logout_claims(), key=OTHER_KEY, typ="logout+jwt"),
    "wrong_alg": lambda: unsigned({"alg": "none", "kid": "key-1"}, logout_claims()),
    "unconfigured_alg": lambda: mint(
        logout_claims(), alg="RS512", key=RS512_KEY, kid="key-1", typ="logout+jwt"
    ),
    "unknown_kid": lambda: mint(logout_claims(), kid="key-2", typ="logout+jwt"),
    "wrong_iss": lambda: logout_token(logout_claims(iss="https://evil.example.test")),
    "wrong_aud": lambda: logout_token(logout_claims(aud=["another-client"])),
    "untrusted_extra_aud": lambda: logout_token(logout_claims(aud=[CLIENT_ID, "someone-else"])),
    "old_iat": lambda: logout_token(logout_claims(iat=int(time.time()) - 3600)),
    "future_iat": lambda: logout_token(logout_claims(iat=int(time.time()) + 3600)),
    "missing_jti": lambda: logout_token(logout_claims(jti=DROP)),
    "missing_events": lambda: logout_token(logout_claims(events=DROP)),
    "wrong_events": lambda: logout_token(
        logout_claims(events={"http://schemas.openid.net/event/other": {}})
    ),
    "neither_sid_nor_sub": lambda: logout_token(logout_claims(sid=DROP, sub=DROP)),
    "with_nonce": lambda: logout_token(logout_claims(nonce="n-0S6_WzA2Mj")),
    "wrong_typ": lambda: mint(logout_claims(), typ="at+jwt"),
    "an_id_token": lambda: mint(claims(iat=int(time.time()), exp=int(time.time()) + 300)),
    "not_a_jwt": lambda: "not-a-token",
    "empty": lambda: "",
}
EXPECTED_REASON = {
    "bad_signature": "bad_signature",
    "wrong_alg": "algorithm_not_allowed",
    "unconfigured_alg": "algorithm_not_allowed",
    "unknown_kid": "unknown_kid",
    "wrong_iss": "wrong_issuer",
    "wrong_aud": "wrong_audience",
    "untrusted_extra_aud": "untrusted_audience",
    "old_iat": "stale",
    "future_iat": "issued_in_future",
    "missing_jti": "missing_jti",
    "missing_events": "missing_events",
    "wrong_events": "missing_events",
    "neither_sid_nor_sub": "missing_sid_and_sub",
    "with_nonce": "nonce_present",
    "wrong_typ": "wrong_typ",
    "an_id_token": "missing_jti",
    "not_a_jwt": "malformed",
    "empty": "missing_logout_token",
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_logout_token_is_refused_and_ends_nothing(
    case: str, provider: FakeKeys, signed_in: Callable[..., Person]
) -> None:
    alice = signed_in("user-1", "sid-1")

    response = post_logout(Client(), MALFORMED[case]())

    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": "invalid_request",
        "error_description": EXPECTED_REASON[case],
    }
    assert alice.is_signed_in()
    assert SessionBinding.objects.count() == 1
    assert not SecurityEvent.objects.filter(event_type="backchannel_logout").exists()


def test_a_logout_token_naming_another_application_of_the_project_is_accepted(
    settings: Any, provider: FakeKeys, signed_in: Callable[..., Person]
) -> None:
    # Trusted exactly as for ID tokens: the project id and AIDIAL_OIDC_EXTRA_AUDIENCES.
    settings.AIDIAL = replace(settings.AIDIAL, extra_audiences=frozenset({"console-app"}))
    alice = signed_in("user-1", "sid-1")

    response = post_logout(
        Client(), logout_token(logout_claims(aud=[CLIENT_ID, PROJECT_ID, "console-app"]))
    )

    assert response.status_code == 200
    assert not alice.is_signed_in()


def test_a_logout_token_already_processed_is_acknowledged_with_no_second_effect(
    provider: FakeKeys, signed_in: Callable[..., Person]
) -> None:
    # Zitadel retries with the same `jti` and logs a 400 as an error.
    token = logout_token()
    assert post_logout(Client(), token).status_code == 200
    bob = signed_in("user-1", "sid-1")  # signed in again, from a session that happens to reuse sid

    response = post_logout(Client(), token)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert bob.is_signed_in()
    assert SecurityEvent.objects.filter(event_type="backchannel_logout").count() == 1


def test_a_logout_token_with_sid_ends_only_the_sessions_of_that_zitadel_session(
    provider: FakeKeys, signed_in: Callable[..., Person]
) -> None:
    laptop = signed_in("user-1", "sid-1")
    laptop_second_tab = signed_in("user-1", "sid-1")
    phone = signed_in("user-1", "sid-2")
    someone_else = signed_in("user-2", "sid-3")

    response = post_logout(Client(), logout_token())

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert not laptop.is_signed_in()
    assert not laptop_second_tab.is_signed_in()
    assert phone.is_signed_in()
    assert someone_else.is_signed_in()
    event = SecurityEvent.objects.get(event_type="backchannel_logout")
    assert event.details == {"ended": 2, "by": "sid"}
    assert event.account_id == laptop.account.pk


def test_a_logout_token_with_only_sub_ends_every_session_of_that_person(
    provider: FakeKeys, signed_in: Callable[..., Person]
) -> None:
    laptop = signed_in("user-1", "sid-1")
    phone = signed_in("user-1", "sid-2")
    someone_else = signed_in("user-2", "sid-3")

    response = post_logout(Client(), logout_token(logout_claims(sid=DROP)))

    assert response.status_code == 200
    assert not laptop.is_signed_in()
    assert not phone.is_signed_in()
    assert someone_else.is_signed_in()
    assert SecurityEvent.objects.get(event_type="backchannel_logout").details == {
        "ended": 2,
        "by": "sub",
    }


def test_a_sid_of_another_person_ends_nothing(
    provider: FakeKeys, signed_in: Callable[..., Person]
) -> None:
    alice = signed_in("user-1", "sid-1")

    response = post_logout(Client(), logout_token(logout_claims(sub="user-2")))

    assert response.status_code == 200
    assert alice.is_signed_in()
    assert SecurityEvent.objects.get(event_type="backchannel_logout").details["ended"] == 0


def test_an_ended_session_sends_its_browser_to_sign_in_keeping_next(
    provider: FakeKeys, signed_in: Callable[..., Person]
) -> None:
    alice = signed_in("user-1", "sid-1")
    post_logout(Client(), logout_token())

    response = alice.client.get("/settings/?tab=mfa")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fsettings%2F%3Ftab%3Dmfa"


def test_a_logout_token_without_typ_is_accepted(
    provider: FakeKeys, signed_in: Callable[..., Person]
) -> None:
    alice = signed_in("user-1", "sid-1")
    assert post_logout(Client(), mint(logout_claims())).status_code == 200
    assert not alice.is_signed_in()


def test_the_endpoint_needs_no_csrf_token_and_refuses_get(provider: FakeKeys) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.get(ENDPOINT).status_code == 405
    assert client.post(ENDPOINT, {"logout_token": logout_token()}).status_code == 200


def test_the_provider_down_is_not_a_bad_token(
    provider: FakeKeys, signed_in: Callable[..., Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aidial_portal.identity.discovery import ProviderUnavailable

    def unavailable() -> Any:
        raise ProviderUnavailable("provider_unreachable")

    monkeypatch.setattr(provider, "keys", unavailable)
    alice = signed_in("user-1", "sid-1")

    response = post_logout(Client(), logout_token())

    assert response.status_code == 503
    assert alice.is_signed_in()


def test_sign_out_removes_the_binding(provider: FakeKeys, signed_in: Callable[..., Person]) -> None:
    alice = signed_in("user-1", "sid-1")
    assert SessionBinding.objects.exists()
    alice.client.post("/logout/")
    assert not SessionBinding.objects.exists()


def test_the_issuer_is_checked_against_the_configuration(provider: FakeKeys) -> None:
    # Sanity: the fixture's token is what a correctly configured portal accepts.
    assert logout_claims()["iss"] == ISSUER


@pytest.fixture
def shared_redis(settings: Any, portal_config: Callable[..., None]) -> Any:
    """The cache on Redis database 12, as every instance of a deployment shares it. The keys
    carry this test's own prefix (the database is shared with other tests and `make bench`),
    and the fixture gives the keys the portal wrote under it."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=12)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis (127.0.0.1:6379) is not answering on this machine")
    prefix = f"aidial-backchannel-test-{secrets.token_hex(4)}"
    url = "redis://127.0.0.1:6379/12"
    portal_config(redis_url=url)
    settings.CACHES = {
        "default": {
            "BACKEND": "aidial_portal.sessions.backends.redis_cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    yield lambda: client.keys(f"{prefix}:*")
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_with_redis_a_token_is_spent_there_and_does_nothing_the_second_time(
    provider: FakeKeys, shared_redis: Any, signed_in: Callable[..., Person]
) -> None:
    token = logout_token()
    assert post_logout(Client(), token).status_code == 200
    assert not SpentLogoutToken.objects.exists()  # Redis holds it, not the database
    assert any(b"logout-jti:" in key for key in shared_redis())
    again = signed_in("user-1", "sid-1")
    assert post_logout(Client(), token).status_code == 200
    assert again.is_signed_in()


def test_a_token_whose_sessions_could_not_be_ended_can_be_sent_again(
    provider: FakeKeys, signed_in: Callable[..., Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aidial_portal.sessions import index

    alice = signed_in("user-1", "sid-1")
    token = logout_token()
    real_end = index.end_sessions

    def store_down(**kwargs: Any) -> Any:
        raise ConnectionError("the session store is down")

    monkeypatch.setattr(index, "end_sessions", store_down)
    with pytest.raises(ConnectionError):
        post_logout(Client(), token)
    monkeypatch.setattr(index, "end_sessions", real_end)

    assert post_logout(Client(), token).status_code == 200
    assert not alice.is_signed_in()
