"""Session lifetimes: an absolute limit from sign-in, an idle limit from the last request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.cache import KEY_PREFIX
from django.core.cache import caches
from django.utils import timezone

from aidial_portal import config
from aidial_portal.accounts import session_state
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.sessions.lifetime import LAST_SEEN_KEY
from aidial_portal.sessions.models import SessionBinding

from .conftest import Person

pytestmark = pytest.mark.django_db


def age(person: Person, *, signed_in: timedelta, seen: timedelta | None = None) -> SessionBase:
    """Move the person's sign-in and last request into the past."""
    session = person.client.session
    state = session_state.load(session)
    assert state is not None
    now = timezone.now()
    session_state.store(session, replace(state, signed_in_at=now - signed_in))
    session[LAST_SEEN_KEY] = int((now - (seen if seen is not None else signed_in)).timestamp())
    session.save()
    return session


def test_an_idle_session_goes_to_sign_in_keeping_next(
    signed_in: Callable[..., Person], settings: Any
) -> None:
    alice = signed_in()
    session = age(alice, signed_in=timedelta(hours=2), seen=timedelta(seconds=3601))

    response = alice.client.get("/settings/?tab=mfa")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fsettings%2F%3Ftab%3Dmfa"
    assert not session.exists(session.session_key)
    assert not SessionBinding.objects.exists()
    event = SecurityEvent.objects.get(event_type="session_expired")
    assert (event.reason, event.account_id) == ("idle", alice.account.pk)


def test_an_active_session_ends_at_its_absolute_limit(signed_in: Callable[..., Person]) -> None:
    alice = signed_in()
    age(alice, signed_in=timedelta(seconds=43200), seen=timedelta(seconds=5))

    response = alice.client.get("/", HTTP_ACCEPT="application/json")

    assert response.status_code == 401
    assert SecurityEvent.objects.get(event_type="session_expired").reason == "absolute"


def test_a_session_within_both_limits_carries_on(signed_in: Callable[..., Person]) -> None:
    alice = signed_in()
    age(alice, signed_in=timedelta(hours=11), seen=timedelta(seconds=3500))

    assert alice.client.get("/").status_code == 200
    # The request counted as activity: the idle limit starts again.
    assert alice.client.session[LAST_SEEN_KEY] >= int(timezone.now().timestamp()) - 1
    assert not SecurityEvent.objects.filter(event_type="session_expired").exists()


def test_shorter_limits_are_configurable(
    signed_in: Callable[..., Person], portal_config: Callable[..., None]
) -> None:
    portal_config(session_idle_timeout=120, session_max_age=600)
    alice = signed_in()
    age(alice, signed_in=timedelta(seconds=300), seen=timedelta(seconds=121))
    assert alice.client.get("/").status_code == 302

    bob = signed_in("user-2", "sid-2")
    age(bob, signed_in=timedelta(seconds=601), seen=timedelta(seconds=1))
    assert bob.client.get("/").status_code == 302


def test_activity_is_written_back_at_most_once_a_minute(
    signed_in: Callable[..., Person],
    django_assert_max_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = signed_in()
    alice.client.get("/")  # the first request records the activity
    cached_writes: list[str] = []
    if settings.SESSION_ENGINE.endswith(".cache"):  # sessions in Redis: count its writes
        store = caches[settings.SESSION_CACHE_ALIAS]
        for method in ("set", "add"):
            original = getattr(store, method)

            def counted(key: str, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                cached_writes.append(key)
                return _original(key, *args, **kwargs)

            monkeypatch.setattr(store, method, counted)
    with django_assert_max_num_queries(10) as queries:
        for _ in range(3):
            assert alice.client.get("/").status_code == 200
    # Each request reads its session; none writes it back, and the lifetime rules add no
    # query of their own (the others are the dashboard's).
    session_queries = [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]
    if settings.SESSION_ENGINE.endswith(".cache"):
        assert session_queries == []
        assert not [key for key in cached_writes if key.startswith(KEY_PREFIX)]
    else:
        assert len(session_queries) == 3
        assert all(sql.startswith("SELECT") for sql in session_queries)
    assert not any("portal_sessions" in q["sql"] for q in queries.captured_queries)


def test_public_pages_do_not_end_or_touch_a_session(signed_in: Callable[..., Person]) -> None:
    alice = signed_in()
    age(alice, signed_in=timedelta(hours=2), seen=timedelta(hours=2))
    assert alice.client.get("/help/").status_code == 200
    assert not SecurityEvent.objects.filter(event_type="session_expired").exists()


@pytest.mark.parametrize("name", ["AIDIAL_SESSION_MAX_AGE", "AIDIAL_SESSION_IDLE_TIMEOUT"])
@pytest.mark.parametrize("value", ["0", "-60", "12h", "1.5"])
def test_a_bad_lifetime_stops_start_up_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        config.from_env({name: value})


def test_lifetimes_default_to_twelve_hours_and_one_hour_and_accept_any_positive_value() -> None:
    defaults = config.from_env({})
    assert (defaults.session_max_age, defaults.session_idle_timeout) == (43200, 3600)
    custom = config.from_env({"AIDIAL_SESSION_MAX_AGE": "1", "AIDIAL_SESSION_IDLE_TIMEOUT": "7"})
    assert (custom.session_max_age, custom.session_idle_timeout) == (1, 7)


def test_another_browser_is_unaffected_by_one_session_expiring(
    signed_in: Callable[..., Person],
) -> None:
    alice = signed_in()
    alice_phone = signed_in()
    age(alice, signed_in=timedelta(hours=2), seen=timedelta(hours=2))
    alice.client.get("/")
    assert alice_phone.client.get("/").status_code == 200
