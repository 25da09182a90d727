"""Refusals anyone can repeat at will are counted, and written to the append-only log once per
(source, reason) in a minute, with their count: the log cannot be flooded, and no count is lost.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from aidial_portal.audit import coalescing
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.config import DEFAULT_RATE_LIMITS, RateLimits
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_rate_limit(portal_config):
    """These floods test the log, not the rate limit that would stop them first."""
    portal_config(rate_limits=RateLimits({**DEFAULT_RATE_LIMITS, "callback": "1000000/m"}))


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """Time stands still inside one window (a slow run must not cross a minute boundary)."""
    monkeypatch.setattr(coalescing, "clock", lambda: 6000.0)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counts(event_type: str) -> list[int]:
    return [
        event.details["count"]
        for event in SecurityEvent.objects.filter(event_type=event_type).order_by("pk")
    ]


def test_a_thousand_junk_callbacks_write_a_handful_of_rows_with_their_count(client):
    before = sample("aidial_sign_ins_total", result="state_invalid")
    for _ in range(1000):
        assert client.get("/oidc/callback/?state=junk").status_code == 400
    assert sample("aidial_sign_ins_total", result="state_invalid") - before == 1000
    assert counts("sign_in_rejected") == [1, 10, 100, 1000]


def test_each_source_and_reason_has_its_own_window(client, db):
    for address in ("192.0.2.1", "192.0.2.2"):
        for _ in range(3):
            client.get("/oidc/callback/?state=junk", REMOTE_ADDR=address)
    for _ in range(3):
        coalescing.record_refusal(
            EventTag.SignIn.REJECTED, source="address:192.0.2.1", reason="code_missing"
        )
    rows = SecurityEvent.objects.filter(event_type="sign_in_rejected")
    assert sorted(rows.values_list("reason", flat=True)) == [
        "code_missing",
        "state_invalid",
        "state_invalid",
    ]


def test_the_next_window_reports_the_last_windows_final_count(db):
    def refuse(now: float) -> None:
        coalescing.record_refusal(
            EventTag.SignIn.REJECTED, source="address:192.0.2.7", reason="state_invalid", now=now
        )

    for _ in range(37):
        refuse(now=600.0)
    refuse(now=600.0 + coalescing.WINDOW_SECONDS)
    rows = list(SecurityEvent.objects.filter(event_type="sign_in_rejected").order_by("pk"))
    assert [row.details["count"] for row in rows] == [1, 10, 1]
    assert rows[-1].details["previous_count"] == 37


def test_repeated_gate_denials_are_counted_and_make_no_query_on_the_log(client, sign_in_as):
    account = sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    before = sample("aidial_gate_denials_total", reason="not_enrolled")
    client.get("/")
    client.get("/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 302
    assert not [q for q in queries.captured_queries if "securityevent" in q["sql"].lower()]
    for _ in range(20):
        client.get("/")
    assert sample("aidial_gate_denials_total", reason="not_enrolled") - before == 23
    rows = SecurityEvent.objects.filter(event_type="gate_denied").order_by("pk")
    assert [(row.account_id, row.details["count"]) for row in rows] == [
        (account.pk, 1),
        (account.pk, 10),
    ]


def test_sign_in_events_are_never_coalesced(db):
    from aidial_portal.audit.recording import record

    for _ in range(3):
        record(EventTag.SignIn.SUCCEEDED, reason="")
    assert SecurityEvent.objects.filter(event_type="sign_in_succeeded").count() == 3


@pytest.fixture
def shared_redis(settings) -> Iterator[None]:
    """Two portal instances' view of one Redis: the same server, database and prefix."""
    prefix = f"aidial-hardening-test-{secrets.token_hex(4)}"
    location = "redis://127.0.0.1:6379/12"
    settings.CACHES = {
        "default": {
            "BACKEND": "aidial_portal.sessions.backends.redis_cache.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
        },
        "other_instance": {
            "BACKEND": "aidial_portal.sessions.backends.redis_cache.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
        },
    }
    try:
        caches["default"].get("ping")
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield
    import redis

    server = redis.Redis.from_url(location)
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)


def test_instances_sharing_redis_share_the_window(shared_redis, monkeypatch):
    for instance in ("default", "other_instance", "default", "other_instance") * 5:
        monkeypatch.setattr(coalescing, "cache", caches[instance])
        coalescing.record_refusal(
            EventTag.SignIn.REJECTED, source="address:192.0.2.9", reason="state_invalid", now=60.0
        )
    assert counts("sign_in_rejected") == [1, 10]
