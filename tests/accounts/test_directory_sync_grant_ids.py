"""The directory sync learns whose each authorization is, so that Zitadel's
`user.grant.removed` (which names only the grant) ends the sessions of a grant made before the
portal received events."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from aidial_portal.sessions.models import KnownUserGrant
from tests.sessions.events_support import SIGNING_KEY, deliver, event
from tests.support.portal import bound_browser

from . import test_directory_sync as directory_sync_tests
from .test_directory_sync import ACME, BRIGHT, FakeZitadel, sync

zitadel = directory_sync_tests.zitadel  # the fake Zitadel fixture, shared

ISSUER = "http://127.0.0.1:8080"


@pytest.fixture(autouse=True)
def signing_key(portal_config: Callable[..., None]) -> None:
    portal_config(actions_signing_key=SIGNING_KEY)


def signed_in(subject: str, role: str) -> Client:
    return bound_browser(subject, f"sid-{subject}", role=role)[0]


def status(client: Client) -> int:
    return client.get("/", HTTP_ACCEPT="application/json").status_code


def test_after_a_sync_removing_a_grant_never_announced_ends_its_users_sessions(
    zitadel: FakeZitadel, capsys: pytest.CaptureFixture[str]
) -> None:
    zitadel.person("u1", "ann@bright.test")
    zitadel.person("u2", "bob@acme.test")
    zitadel.grant("u1", BRIGHT, "partner_user")  # id "g0"
    zitadel.grant("u2", ACME, "client_staff")  # id "g1"
    ann, bob = signed_in("u1", "partner_user"), signed_in("u2", "client_staff")
    # No `user.grant.added` was ever delivered: the portal does not know "g0" yet.
    before = deliver(event("user.grant.removed", "g0"))
    assert before.json() == {"result": "unknown_grant"}
    assert status(ann) == 200

    sync(capsys)
    response = deliver(event("user.grant.removed", "g0"))

    assert response.status_code == 200
    assert response.json() == {"result": "sessions_ended"}
    assert status(ann) == 401
    assert status(bob) == 200


def test_a_sync_records_a_grant_whose_user_changed_and_leaves_others_alone(
    zitadel: FakeZitadel, capsys: pytest.CaptureFixture[str]
) -> None:
    zitadel.person("u1", "ann@bright.test")
    zitadel.person("u2", "bob@acme.test")
    zitadel.grant("u1", BRIGHT, "partner_user")
    zitadel.grant("u2", ACME, "client_staff")
    sync(capsys)
    first = dict(KnownUserGrant.objects.values_list("grant_id", "updated_at"))

    zitadel.grants[1]["user"]["id"] = "u1"
    sync(capsys)

    assert dict(KnownUserGrant.objects.values_list("grant_id", "subject")) == {
        "g0": "u1",
        "g1": "u1",
    }
    assert KnownUserGrant.objects.get(grant_id="g0").updated_at == first["g0"]
    assert KnownUserGrant.objects.get(grant_id="g1").updated_at > first["g1"]
