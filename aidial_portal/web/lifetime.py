"""Session lifetimes: an absolute limit from sign-in and an idle limit from the last request.

`AIDIAL_SESSION_MAX_AGE` counts from the last sign-in (a refresh is one: the person proved
their credentials again); `AIDIAL_SESSION_IDLE_TIMEOUT` from the last request that went through
the gate. Both are read from the session the gate loads anyway: no query and no network call.
The time of the last request is written back at most once per `touch_interval`, so an active
session costs one session save a minute, not one per request.

The gate asks `end_if_expired` after "is the view public?" and before anything else. An ended
session is removed from the store (on every instance) and the request carries on signed out,
so the gate sends a page request to sign-in with `next` kept.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import datetime
from typing import Any

from django.conf import settings

from aidial_portal import metrics
from aidial_portal.accounts.session_state import CurrentSignIn, SignedIn, SignInRequest
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.web.signed_in_account import signed_out

LAST_SEEN_KEY = "aidial_seen"
TOUCH_INTERVAL = 60


def touch_interval(idle_timeout: int) -> int:
    """How stale the recorded last request may get: a minute, less for short idle limits."""
    return max(1, min(TOUCH_INTERVAL, idle_timeout // 10))


def ended_by(
    session: Mapping[str, Any], state: SignedIn, now: datetime, *, max_age: int, idle: int
) -> str | None:
    """`absolute`, `idle` or None (still live)."""
    if (now - state.signed_in_at).total_seconds() >= max_age:
        return "absolute"
    if now.timestamp() - _last_seen(session, state) >= idle:
        return "idle"
    return None


def touch(session: MutableMapping[str, Any], state: SignedIn, now: datetime, idle: int) -> None:
    if now.timestamp() - _last_seen(session, state) >= touch_interval(idle):
        session[LAST_SEEN_KEY] = int(now.timestamp())


def _last_seen(session: Mapping[str, Any], state: SignedIn) -> int:
    """The recorded last request, or the sign-in itself before any was recorded."""
    seen = session.get(LAST_SEEN_KEY)
    return seen if isinstance(seen, int) else int(state.signed_in_at.timestamp())


def end_if_expired(request: SignInRequest, sign_in: CurrentSignIn, now: datetime) -> bool:
    """End a signed-in session past either limit (True), or note this request (False)."""
    config = settings.AIDIAL
    reason = ended_by(
        request.session,
        sign_in,
        now,
        max_age=config.session_max_age,
        idle=config.session_idle_timeout,
    )
    if reason is None:
        touch(request.session, sign_in, now, config.session_idle_timeout)
        return False
    record(
        EventTag.Session.EXPIRED,
        account_id=sign_in.account_id,
        session_key=request.session.session_key,
        reason=reason,
    )
    metrics.SESSIONS_ENDED.labels(reason=reason).inc()
    # Removes the stored session (and its binding) and gives this request an empty one.
    request.session.flush()
    signed_out(request)
    return True


__all__ = ["end_if_expired", "ended_by", "touch", "touch_interval"]
