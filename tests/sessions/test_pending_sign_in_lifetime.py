"""A session that holds only a sign-in in flight lasts as long as that sign-in may (10 minutes),
not a signed-in session's 12 hours: anyone can POST /login/ at will, and each POST without a
cookie makes a session. Signing in gives the session its real lifetime."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from aidial_portal.identity import oidc, providers
from tests.identity.provider import ISSUER

pytestmark = pytest.mark.django_db
PENDING_LIMIT = 15 * 60  # the issue's bound; the sign-in's own limit is oidc.STATE_TTL


@dataclass
class Discovery:
    def metadata(self) -> dict[str, Any]:
        return {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/oauth/v2/authorize"}


@pytest.fixture
def provider_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "directory", functools.cache(Discovery))


def stored_session(client: Client) -> Any:
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return import_module(settings.SESSION_ENGINE).SessionStore(key)


def test_a_session_holding_only_a_pending_sign_in_expires_with_it(provider_answers: None) -> None:
    browser = Client()

    assert browser.post("/login/").status_code == 302

    cookie = browser.cookies[settings.SESSION_COOKIE_NAME]
    assert 0 < int(cookie["max-age"]) <= PENDING_LIMIT
    stored = stored_session(browser)
    assert oidc.PENDING_KEY in stored
    assert 0 < stored.get_expiry_age() <= PENDING_LIMIT


def test_signing_in_gives_the_session_its_real_lifetime(
    provider_answers: None, callback_signs_in: Callable[[str, str], None]
) -> None:
    browser = Client()
    browser.post("/login/")
    callback_signs_in("user-1", "sid-1")

    assert browser.get("/oidc/callback/?code=c&state=s").status_code == 302

    cookie = browser.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == ""  # a browser-session cookie, as before
    assert stored_session(browser).get_expiry_age() == settings.AIDIAL.session_max_age
