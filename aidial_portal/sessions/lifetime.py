"""Session lifetimes: an absolute limit from sign-in and an idle limit from the last request.

`AIDIAL_SESSION_MAX_AGE` counts from the last sign-in (a refresh is one: the person proved
their credentials again); `AIDIAL_SESSION_IDLE_TIMEOUT` from the last request that went through
the gate. Both are read from the session the gate loads anyway: no query and no network call.
The time of the last request is written back at most once per `touch_interval`, so an active
session costs one session save a minute, not one per request. Pure rules over the session's
values; the gate applies them (`web/lifetime.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime
from typing import Any

LAST_SEEN_KEY = "aidial_seen"
TOUCH_INTERVAL = 60


def touch_interval(idle_timeout: int) -> int:
    """How stale the recorded last request may get: a minute, less for short idle limits."""
    return max(1, min(TOUCH_INTERVAL, idle_timeout // 10))


def ended_by(
    session: Mapping[str, Any], signed_in_at: datetime, now: datetime, *, max_age: int, idle: int
) -> str | None:
    """`absolute`, `idle` or None (still live)."""
    if (now - signed_in_at).total_seconds() >= max_age:
        return "absolute"
    if now.timestamp() - _last_seen(session, signed_in_at) >= idle:
        return "idle"
    return None


def touch(
    session: MutableMapping[str, Any], signed_in_at: datetime, now: datetime, idle: int
) -> None:
    if now.timestamp() - _last_seen(session, signed_in_at) >= touch_interval(idle):
        session[LAST_SEEN_KEY] = int(now.timestamp())


def _last_seen(session: Mapping[str, Any], signed_in_at: datetime) -> int:
    """The recorded last request, or the sign-in itself before any was recorded."""
    seen = session.get(LAST_SEEN_KEY)
    return seen if isinstance(seen, int) else int(signed_in_at.timestamp())
