"""Session lifetimes: an absolute limit from sign-in and an idle limit from the last request.

`AIDIAL_SESSION_MAX_AGE` counts from the last sign-in (a refresh is one: the person proved
their credentials again); `AIDIAL_SESSION_IDLE_TIMEOUT` from the last request that went through
the gate. Both are read from the session the gate loads anyway: no query and no network call.
The time of the last request is written back at most once per `touch_interval`, so an active
session costs one session save a minute, not one per request.

An ended session is removed from the store (on every instance) and the request carries on
signed out, so the gate sends a page request to sign-in with `next` kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from aidial_portal import metrics
from aidial_portal.accounts import sign_in
from aidial_portal.accounts.session_state import SignedIn, account_id, load
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.web.access import is_public

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


class SessionLifetimeMiddleware:
    """Before the gate: end a signed-in session past either limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if is_public(view_func):
            return None
        state = load(request.session)
        if state is None:
            return None
        config = settings.AIDIAL
        now = timezone.now()
        reason = ended_by(
            request.session,
            state,
            now,
            max_age=config.session_max_age,
            idle=config.session_idle_timeout,
        )
        if reason is None:
            touch(request.session, state, now, config.session_idle_timeout)
            return None
        record(
            EventTag.Session.EXPIRED,
            account_id=account_id(request.session),
            session_key=request.session.session_key,
            reason=reason,
        )
        metrics.SESSIONS_ENDED.labels(reason=reason).inc()
        # Removes the stored session (and its binding) and gives this request an empty one.
        request.session.flush()
        if reason == "absolute":
            sign_in.require_reauthentication(request.session)
        request.user = _anonymous()
        return None


def _anonymous() -> Any:
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


__all__ = ["SessionLifetimeMiddleware", "ended_by", "touch", "touch_interval"]
