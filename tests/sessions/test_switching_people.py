"""A second person signing in in the same browser gets a session that back-channel logout and
revalidation can find: the binding is written under the key the browser holds, never an
empty one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from aidial_portal.sessions import index
from aidial_portal.sessions.models import SessionBinding
from tests.identity.provider import FakeKeys

from .conftest import Person, logout_claims, logout_token, post_logout

pytestmark = pytest.mark.django_db


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
