"""`POST /zitadel/events/`: Zitadel's signed Actions v2 events end or change exactly the
sessions of the person concerned; forged, stale, replayed or malformed deliveries change
nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from aidial_portal.accounts import provider_events
from aidial_portal.accounts.models import Account
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.sessions.models import ProcessedProviderEvent
from aidial_portal.sessions.signature import sign
from tests.support.portal import bound_browser

from .events_support import ENDPOINT, SIGNING_KEY, deliver, event

pytestmark = pytest.mark.django_db
ISSUER = "http://127.0.0.1:8080"


@dataclass
class Person:
    client: Client
    account: Account

    def status(self, path: str = "/") -> int:
        return self.client.get(path, HTTP_ACCEPT="application/json").status_code


@pytest.fixture(autouse=True)
def signing_key(portal_config: Callable[..., None]) -> None:
    portal_config(actions_signing_key=SIGNING_KEY)


@pytest.fixture
def signed_in() -> Callable[..., Person]:
    def sign_in(sub: str = "user-1", sid: str = "sid-1", role: str = "client_staff") -> Person:
        return Person(*bound_browser(sub, sid, role=role))

    return sign_in


def provider_events_recorded() -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(event_type="provider_event"))


@pytest.mark.parametrize("event_type", ["user.deactivated", "user.locked", "user.removed"])
def test_a_deactivated_locked_or_removed_user_loses_every_portal_session(
    event_type: str, signed_in: Callable[..., Person]
) -> None:
    laptop = signed_in("user-1", "sid-1")
    phone = signed_in("user-1", "sid-2")
    someone_else = signed_in("user-2", "sid-3")

    response = deliver(event(event_type, "user-1"))

    assert response.status_code == 200
    assert laptop.status() == 401
    assert phone.status() == 401
    assert someone_else.status() == 200
    [recorded] = provider_events_recorded()
    assert recorded.reason == event_type
    assert recorded.details == {"ended": 2}
    assert recorded.account_id == laptop.account.pk


def test_the_editor_named_in_user_id_is_never_acted_on(signed_in: Callable[..., Person]) -> None:
    administrator = signed_in("admin-1", "sid-9")
    person = signed_in("user-1", "sid-1")

    deliver(event("user.deactivated", "user-1", userID="admin-1"))

    assert administrator.status() == 200
    assert person.status() == 401


def test_a_removed_role_grant_ends_the_sessions_of_its_user(
    signed_in: Callable[..., Person],
) -> None:
    person = signed_in("user-1", "sid-1")
    colleague = signed_in("user-2", "sid-2")
    added = event("user.grant.added", "grant-7", payload={"userId": "user-1", "roleKeys": ["x"]})
    assert deliver(added).status_code == 200
    assert person.status() == 200  # learning the grant changes nothing

    response = deliver(event("user.grant.removed", "grant-7"))

    assert response.status_code == 200
    assert person.status() == 401
    assert colleague.status() == 200
    assert provider_events_recorded()[-1].details == {"ended": 1}


@pytest.mark.parametrize(
    "event_type", ["user.grant.changed", "user.grant.deactivated", "user.grant.cascade.removed"]
)
def test_a_changed_or_deactivated_role_grant_ends_the_sessions_of_its_user(
    event_type: str, signed_in: Callable[..., Person]
) -> None:
    person = signed_in("user-1", "sid-1")
    deliver(event("user.grant.added", "grant-7", payload={"userId": "user-1"}))

    deliver(event(event_type, "grant-7", payload={"roleKeys": ["client_staff"]}))

    assert person.status() == 401


def test_a_grant_the_portal_never_saw_is_acknowledged_and_ends_nothing(
    signed_in: Callable[..., Person],
) -> None:
    person = signed_in("user-1", "sid-1")

    response = deliver(event("user.grant.removed", "grant-unknown"))

    assert response.status_code == 200
    assert response.json() == {"result": "unknown_grant"}
    assert person.status() == 200


def test_a_removed_authenticator_makes_mandatory_role_sessions_non_compliant(
    signed_in: Callable[..., Person],
) -> None:
    admin = signed_in("user-1", "sid-1", role="partner_admin")
    assert admin.status() == 200

    response = deliver(event("user.human.mfa.otp.removed", "user-1"))

    assert response.status_code == 200
    page = admin.client.get("/")
    assert page.status_code == 302
    assert page["Location"].startswith("/settings/")
    settings_page = admin.client.get("/settings/")
    assert "Your authenticator app was removed at the identity provider" in (
        settings_page.content.decode()
    )
    assert "Removed at the identity provider" in settings_page.content.decode()
    assert provider_events_recorded()[-1].details == {"changed": 1}


def test_a_removed_authenticator_leaves_optional_roles_working(
    signed_in: Callable[..., Person],
) -> None:
    staff = signed_in("user-1", "sid-1", role="client_staff")
    other_admin = signed_in("user-2", "sid-2", role="partner_admin")

    deliver(event("user.human.mfa.otp.removed", "user-1"))

    assert staff.status() == 200
    assert other_admin.status() == 200


def test_a_terminated_zitadel_session_ends_only_the_portal_sessions_bound_to_it(
    signed_in: Callable[..., Person],
) -> None:
    laptop = signed_in("user-1", "sid-1")
    phone = signed_in("user-1", "sid-2")

    response = deliver(event("session.terminated", "sid-1"))

    assert response.status_code == 200
    assert laptop.status() == 401
    assert phone.status() == 200


def test_an_unknown_event_type_is_acknowledged_and_changes_nothing(
    signed_in: Callable[..., Person],
) -> None:
    person = signed_in("user-1", "sid-1")

    response = deliver(event("user.human.profile.changed", "user-1"))

    assert response.status_code == 200
    assert response.json() == {"result": "ignored"}
    assert person.status() == 200
    assert not provider_events_recorded()


REFUSED: dict[str, tuple[Callable[[dict[str, Any]], Any], int, str]] = {
    "wrong key": (lambda body: deliver(body, key="another-key"), 401, "bad_signature"),
    "no signature": (lambda body: deliver(body, header=""), 401, "missing_signature"),
    "malformed header": (lambda body: deliver(body, header="v1=abc"), 401, "malformed_signature"),
    "stale": (lambda body: deliver(body, at=time.time() - 301), 401, "stale"),
    "from the future": (lambda body: deliver(body, at=time.time() + 301), 401, "issued_in_future"),
    "signed for another body": (
        lambda body: Client().post(
            ENDPOINT,
            json.dumps(body).encode(),
            content_type="application/json",
            HTTP_ZITADEL_SIGNATURE=sign(b"{}", SIGNING_KEY, timestamp=int(time.time())),
        ),
        401,
        "bad_signature",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_forged_or_stale_delivery_is_refused_and_changes_nothing(
    case: str, signed_in: Callable[..., Person]
) -> None:
    person = signed_in("user-1", "sid-1")
    send, status, reason = REFUSED[case]

    response = send(event("user.deactivated", "user-1"))

    assert response.status_code == status
    assert response.json() == {"error": reason}
    assert person.status() == 200
    assert not ProcessedProviderEvent.objects.exists()


def test_a_replayed_event_is_refused_and_has_no_second_effect(
    signed_in: Callable[..., Person],
) -> None:
    body = event("user.deactivated", "user-1")
    assert deliver(body).status_code == 200
    again = signed_in("user-1", "sid-2")  # signed in again since

    response = deliver(body)  # the same event, freshly signed

    assert response.status_code == 409
    assert response.json() == {"error": "replayed"}
    assert again.status() == 200
    assert len(provider_events_recorded()) == 1


def test_a_signature_from_either_of_two_keys_is_accepted(signed_in: Callable[..., Person]) -> None:
    # Zitadel sends one v1 per signing key while a key is rotated.
    person = signed_in("user-1", "sid-1")
    raw = json.dumps(event("user.locked", "user-1")).encode()
    now = int(time.time())
    old = sign(raw, "the-previous-key", timestamp=now).split(",")[1]
    header = f"{sign(raw, SIGNING_KEY, timestamp=now)},{old}"

    response = Client().post(
        ENDPOINT, raw, content_type="application/json", HTTP_ZITADEL_SIGNATURE=header
    )

    assert response.status_code == 200
    assert person.status() == 401


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not_json"),
        (b"[]", "not_an_event"),
        (json.dumps({"aggregateID": "user-1"}).encode(), "missing_event_type"),
        (json.dumps({"event_type": "user.locked"}).encode(), "missing_aggregate_id"),
        (
            json.dumps({"event_type": "user.locked", "aggregateID": "u", "sequence": -1}).encode(),
            "bad_sequence",
        ),
        (
            json.dumps(
                {"event_type": "user.grant.added", "aggregateID": "g", "event_payload": "%%"}
            ).encode(),
            "bad_event_payload",
        ),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(raw: bytes, reason: str) -> None:
    response = deliver(raw)

    assert response.status_code == 400
    assert response.json() == {"error": reason}


def test_a_body_over_the_cap_is_refused_unread(signed_in: Callable[..., Person]) -> None:
    person = signed_in("user-1", "sid-1")
    body = event("user.locked", "user-1", padding="x" * 70_000)

    response = deliver(body)

    assert response.status_code == 413
    assert person.status() == 200


def test_without_a_signing_key_the_route_answers_404(
    portal_config: Callable[..., None], signed_in: Callable[..., Person]
) -> None:
    portal_config(actions_signing_key="")
    person = signed_in("user-1", "sid-1")

    response = deliver(event("user.locked", "user-1"))

    assert response.status_code == 404
    assert person.status() == 200


def test_only_post_is_answered() -> None:
    assert Client().get(ENDPOINT).status_code == 405


def test_with_the_database_down_nothing_is_half_applied_and_the_event_can_come_again(
    settings: Any, signed_in: Callable[..., Person], monkeypatch: pytest.MonkeyPatch
) -> None:
    laptop = signed_in("user-1", "sid-1")
    phone = signed_in("user-1", "sid-2")
    body = event("user.deactivated", "user-1")

    def database_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("connection refused")

    # The sessions are ended, then the security event cannot be written.
    monkeypatch.setattr(provider_events, "record", database_down)
    response = deliver(body)

    assert response.status_code == 503
    assert not ProcessedProviderEvent.objects.exists()
    if not settings.AIDIAL.redis_url:
        # Sessions in the database: ended in the same transaction, so not ended at all.
        # (In Redis an ended session cannot be brought back: it stays ended, the safe side.)
        assert laptop.status() == 200
        assert phone.status() == 200

    monkeypatch.undo()
    assert deliver(body).status_code == 200
    assert laptop.status() == 401
    assert phone.status() == 401
    assert len(provider_events_recorded()) == 1


def test_nothing_of_the_delivery_reaches_the_log(
    signed_in: Callable[..., Person], caplog: pytest.LogCaptureFixture
) -> None:
    signed_in("user-1", "sid-1")
    caplog.set_level("DEBUG")
    raw = json.dumps(event("user.locked", "user-1")).encode()
    header = sign(raw, SIGNING_KEY, timestamp=int(time.time()))

    Client().post(ENDPOINT, raw, content_type="application/json", HTTP_ZITADEL_SIGNATURE=header)
    deliver(raw, key="wrong")

    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert SIGNING_KEY not in logged
    assert header.split("v1=")[1] not in logged
