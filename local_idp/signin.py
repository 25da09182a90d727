"""Browser sign-in state kept in the provider's Django session.

* the current provider session (``IdpSession``) the browser is signed in with;
* sign-in *intents*: an authorization request waiting for a sign-in, or a console page to
  return to; each has a random id carried in URLs as ``authRequestID`` (Zitadel's name);
* a pending password check, while the second factor is asked for.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.middleware.csrf import rotate_token
from django.utils import timezone

from local_idp import crypto, logout
from local_idp.models import IdpSession, User

SESSION_KEY = "local_idp.session_id"
INTENTS_KEY = "local_idp.intents"
PENDING_KEY = "local_idp.pending"
MAX_INTENTS = 10
PENDING_LIFETIME = timedelta(minutes=10)

AUTHORIZE = "authorize"
CONSOLE = "console"


def current_session(request: HttpRequest) -> IdpSession | None:
    session_id = request.session.get(SESSION_KEY)
    if not session_id:
        return None
    session = (
        IdpSession.objects.filter(pk=session_id)
        .select_related("user", "user__organization")
        .first()
    )
    if session is None or not session.is_active:
        return None
    return session


def sign_in(request: HttpRequest, session: IdpSession) -> None:
    """Trust changed: new session key and CSRF token, as ``django.contrib.auth.login`` does."""
    request.session.cycle_key()
    rotate_token(request)
    request.session[SESSION_KEY] = session.id
    request.session.pop(PENDING_KEY, None)


def sign_out(request: HttpRequest) -> None:
    session = current_session(request)
    if session is not None:
        logout.end_sessions([session.pk])
    request.session.flush()


# Intents ---------------------------------------------------------------------------------
def new_intent(request: HttpRequest, kind: str, **data: Any) -> str:
    intents: dict[str, dict[str, Any]] = request.session.get(INTENTS_KEY, {})
    while len(intents) >= MAX_INTENTS:
        intents.pop(next(iter(intents)))
    intent_id = crypto.new_token(16)
    intents[intent_id] = {"kind": kind, **data}
    request.session[INTENTS_KEY] = intents
    return intent_id


def get_intent(request: HttpRequest, intent_id: str) -> dict[str, Any] | None:
    intent: dict[str, Any] | None = request.session.get(INTENTS_KEY, {}).get(intent_id)
    return intent


def update_intent(request: HttpRequest, intent_id: str, **data: Any) -> None:
    intents = request.session.get(INTENTS_KEY, {})
    if intent_id in intents:
        intents[intent_id].update(data)
        request.session[INTENTS_KEY] = intents


def pop_intent(request: HttpRequest, intent_id: str) -> dict[str, Any] | None:
    intents = request.session.get(INTENTS_KEY, {})
    intent: dict[str, Any] | None = intents.pop(intent_id, None)
    request.session[INTENTS_KEY] = intents
    return intent


def login_url(intent_id: str) -> str:
    return "/ui/login/login?" + urlencode({"authRequestID": intent_id})


def callback_url(intent_id: str) -> str:
    return "/oauth/v2/authorize/callback?" + urlencode({"id": intent_id})


def finish_url(request: HttpRequest, intent_id: str) -> str:
    """Where a completed sign-in goes: back to the authorization request, or the console page."""
    intent = get_intent(request, intent_id)
    if intent is None:
        return "/ui/console/users/me?id=security"
    if intent["kind"] == AUTHORIZE:
        return callback_url(intent_id)
    pop_intent(request, intent_id)
    return str(intent.get("next") or "/ui/console/users/me?id=security")


def complete_sign_in(request: HttpRequest, intent_id: str, session: IdpSession) -> None:
    sign_in(request, session)
    update_intent(request, intent_id, session_id=session.id)


# Pending password check ------------------------------------------------------------------
def set_pending(request: HttpRequest, intent_id: str, user: User, password_at: datetime) -> None:
    request.session[PENDING_KEY] = {
        "intent": intent_id,
        "user_id": user.id,
        "password_at": password_at.isoformat(),
    }


def get_pending(request: HttpRequest, intent_id: str) -> tuple[User, datetime] | None:
    pending = request.session.get(PENDING_KEY)
    if not pending or pending.get("intent") != intent_id:
        return None
    password_at = datetime.fromisoformat(pending["password_at"])
    if password_at + PENDING_LIFETIME < timezone.now():
        request.session.pop(PENDING_KEY, None)
        return None
    user = User.objects.filter(pk=pending["user_id"]).select_related("organization").first()
    if user is None:
        return None
    return user, password_at
