"""Refusal coalescing counts by the client, not by whatever stands in front of it: behind the
trusted proxy by the address it forwards, IPv6 by its /64. Fresh addresses cannot create
unbounded counters: past a cap of sources a window, they share one aggregate counter. And the
counters are short-lived."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from aidial_portal.audit import coalescing
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.config import DEFAULT_RATE_LIMITS, RateLimits

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def no_rate_limit(portal_config):
    """These floods test the log, not the rate limit that would stop them first."""
    portal_config(rate_limits=RateLimits({**DEFAULT_RATE_LIMITS, "callback": "1000000/m"}))


@pytest.fixture(autouse=True)
def one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coalescing, "clock", lambda: 6000.0)


def rows() -> list[dict[str, Any]]:
    return [
        event.details
        for event in SecurityEvent.objects.filter(event_type="sign_in_rejected").order_by("pk")
    ]


def test_behind_the_proxy_one_clients_junk_does_not_hide_anothers_refusal(client, portal_config):
    portal_config(trust_proxy=True)
    for _ in range(50):
        client.get(
            "/oidc/callback/?state=junk", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5"
        )

    client.get("/oidc/callback/?state=junk", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.8")

    assert [row["count"] for row in rows()] == [1, 10, 1]


def test_a_fresh_ipv6_address_per_request_is_one_source(client):
    network = ipaddress.ip_network("2001:db8:7:9::/64")
    for n in range(1, 101):
        client.get("/oidc/callback/?state=junk", REMOTE_ADDR=str(network[n * 7919]))

    assert [row["count"] for row in rows()] == [1, 10, 100]


def test_past_the_cap_of_sources_new_addresses_share_one_counter(client):
    cap = coalescing.MAX_SOURCES_PER_WINDOW
    for n in range(cap + 100):
        address = str(ipaddress.ip_address("198.18.0.0") + n)
        client.get("/oidc/callback/?state=junk", REMOTE_ADDR=address)

    written = rows()
    assert len(written) == cap + 3  # one per capped source, then 1, 10, 100 for the rest
    assert [row["count"] for row in written[cap:]] == [1, 10, 100]
    assert all(row.get("sources") == "many" for row in written[cap:])


def test_counters_live_an_hour_at_most(client, monkeypatch: pytest.MonkeyPatch):
    timeouts: list[float] = []
    real = coalescing.cache

    class Watched:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def add(self, key: str, value: Any, timeout: float) -> bool:
            timeouts.append(timeout)
            return real.add(key, value, timeout=timeout)

        def set(self, key: str, value: Any, timeout: float) -> None:
            timeouts.append(timeout)
            real.set(key, value, timeout=timeout)

    monkeypatch.setattr(coalescing, "cache", Watched())
    for _ in range(3):
        client.get("/oidc/callback/?state=junk")

    assert timeouts
    assert max(timeouts) <= 3600
