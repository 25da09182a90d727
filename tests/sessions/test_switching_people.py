"""A second person signing in in the same browser gets a session that back-channel logout and
revalidation can find: the binding is written under the key the browser holds, never an
empty one."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from aidial_portal.accounts import sign_in as flow
from aidial_portal.identity.claims import Grant, Profile
from aidial_portal.identity.oidc import Identity, Pending, SignIn
from aidial_portal.sessions import index
from aidial_portal.sessions.models import SessionBinding
from tests.identity.provider import FakeKeys
from tests.support.portal import evidence

from .conftest import Person, logout_claims, logout_token, post_logout

pytestmark = pytest.mark.django_db


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


def test_a_second_person_in_the_same_browser_is_ended_by_back_channel_logout(
    provider: FakeKeys,
    signed_in: Callable[..., Person],
    callback_signs_in: Callable[[str, str], None],
) -> None:
    alice = signed_in("user-a", "sid-a")
    callback_signs_in("user-b", "sid-b")

    assert alice.client.get("/oidc/callback/?code=c&state=s").status_code == 302
    key = alice.client.cookies["aidial_session"].value
    assert SessionBinding.objects.filter(stored_key=index.stored_key(key), sid="sid-b").exists()
    assert not SessionBinding.objects.filter(stored_key=index.stored_key("")).exists()
    assert alice.is_signed_in()  # now as user-b

    response = post_logout(Client(), logout_token(logout_claims(sub="user-b", sid="sid-b")))

    assert response.status_code == 200
    assert not alice.is_signed_in()


def test_binding_an_empty_session_key_is_refused(db: Any) -> None:
    from django.utils import timezone

    with pytest.raises(ValueError, match="session key"):
        index.bind(
            "", sid="sid-1", subject="user-1", account_id=None, now=timezone.now(), max_age=60
        )
    assert not SessionBinding.objects.exists()
