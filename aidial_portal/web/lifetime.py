"""Session lifetimes on the gate's path (the rules themselves: `sessions/lifetime.py`).

The gate asks `end_if_expired` after "is the view public?" and before anything else. An ended
session is removed from the store (on every instance) and the request carries on signed out,
so the gate sends a page request to sign-in with `next` kept.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from aidial_portal import metrics
from aidial_portal.accounts import sign_in as sign_in_flow
from aidial_portal.accounts.session_state import CurrentSignIn, SignInRequest
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.sessions.lifetime import ended_by, touch
from aidial_portal.web.signed_in_account import signed_out


def end_if_expired(request: SignInRequest, sign_in: CurrentSignIn, now: datetime) -> bool:
    """End a signed-in session past either limit (True), or note this request (False)."""
    config = settings.AIDIAL
    reason = ended_by(
        request.session,
        sign_in.signed_in_at,
        now,
        max_age=config.session_max_age,
        idle=config.session_idle_timeout,
    )
    if reason is None:
        touch(request.session, sign_in.signed_in_at, now, config.session_idle_timeout)
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
    if reason == "absolute":
        # The next sign-in must prove itself again, not complete by silent SSO.
        sign_in_flow.require_reauthentication(request.session)
    signed_out(request)
    return True


__all__ = ["end_if_expired"]
