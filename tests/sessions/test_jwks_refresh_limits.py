"""Unauthenticated logout tokens with made-up `kid`s must not use up the JWKS refresh: the
provider's keys are fetched again only for a token whose every other claim checks out, and at
most once a minute per source address."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.identity.provider import FakeKeys, mint

from .conftest import logout_claims, post_logout

pytestmark = pytest.mark.django_db


def unknown_kid(**changes: object) -> str:
    return mint(logout_claims(**changes), kid="made-up-kid", typ="logout+jwt")


def test_a_token_failing_a_claim_check_never_refreshes_the_keys(provider: FakeKeys) -> None:
    for bad in ({"iss": "https://evil.example.test"}, {"aud": ["someone-else"]}, {"iat": 1}):
        response = post_logout(Client(), unknown_kid(**bad))
        assert response.status_code == 400
    assert provider.refresh_calls == 0


def test_a_source_may_refresh_the_keys_once_a_minute(provider: FakeKeys) -> None:
    flooding, provider_host = Client(REMOTE_ADDR="198.51.100.7"), Client(REMOTE_ADDR="10.0.0.9")

    for _ in range(5):
        response = post_logout(flooding, unknown_kid())
        assert response.json()["error_description"] == "unknown_kid"
    assert provider.refresh_calls == 1

    post_logout(provider_host, unknown_kid())
    assert provider.refresh_calls == 2
