"""Is a Zitadel session still alive? Read through the Session API (`GET /v2/sessions/{id}`).

Used by the revalidation when no back-channel message came. The answer is ENDED only when the
provider itself says so: 404 (the session no longer exists) or an `expirationDate` in the past.
Anything else it cannot be sure of (unreachable, timeout, 5xx, 401/403, a malformed answer, a
Login V1 session id) is UNREADABLE, and nothing is ended because of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

import httpx

from aidial_portal.identity.service_credentials import ServiceCredentials
from aidial_portal.identity.zitadel_api import ApiFailure, ZitadelApi

_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")


class State(StrEnum):
    ALIVE = "alive"
    ENDED = "ended"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class SessionStatus:
    state: State
    # A tag (see `SessionStatusReader.read`), never a response body.
    reason: str = ""


class SessionStatusReader:
    """Reads one Zitadel session's status through `ZitadelApi`; thread-safe. Without `http`,
    the process's shared client for the API's origin is used (`identity.http`). `timeout` is
    the budget of one read, a renewal after a 401 included."""

    def __init__(
        self,
        api_url: str,
        credentials: ServiceCredentials,
        *,
        timeout: float = 3.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._api = ZitadelApi(api_url, credentials, http=http)
        self._timeout = timeout

    def close(self) -> None:
        """Nothing to release: the HTTP client belongs to the process (or to the caller)."""

    def read(self, sid: str, *, now: datetime) -> SessionStatus:
        """Reasons: ended `not_found` / `expired`; unreadable `no_session_id`,
        `session_not_readable` (Login V1), `provider_unconfigured`, `provider_timeout`,
        `provider_unreachable`, `provider_error`, `provider_unauthorised`, `provider_malformed`.
        """
        if not sid:
            return SessionStatus(State.UNREADABLE, "no_session_id")
        if sid.startswith("V1_") or not _IDENTIFIER.fullmatch(sid):
            return SessionStatus(State.UNREADABLE, "session_not_readable")
        deadline = self._api.deadline(self._timeout)
        return _status(self._api.get_json(f"/v2/sessions/{sid}", deadline=deadline), now)


def _status(answer: dict[str, Any] | ApiFailure, now: datetime) -> SessionStatus:
    if isinstance(answer, ApiFailure):
        # Only the provider's own "no such session" ends anything.
        if answer.reason == "provider_not_found":
            return SessionStatus(State.ENDED, "not_found")
        return SessionStatus(State.UNREADABLE, answer.reason)
    try:
        expires = _expiration(answer)
    except (ValueError, TypeError, KeyError):
        return SessionStatus(State.UNREADABLE, "provider_malformed")
    if expires is not None and expires <= now:
        return SessionStatus(State.ENDED, "expired")
    return SessionStatus(State.ALIVE)


def _expiration(document: Any) -> datetime | None:
    session = document["session"]
    if not isinstance(session, dict):
        raise TypeError
    value = session.get("expirationDate")
    if value is None:  # a session without a lifetime lives until it is ended
        return None
    if not isinstance(value, str):
        raise TypeError
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError
    return moment.astimezone(UTC)
