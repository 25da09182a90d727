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

from aidial_portal.identity import http as shared_http
from aidial_portal.identity.service_credentials import CredentialsUnavailable, ServiceCredentials

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
    """Reads one Zitadel session's status; thread-safe. Without `http`, the process's shared
    client for the API's origin is used (`identity.http`)."""

    def __init__(
        self,
        api_url: str,
        credentials: ServiceCredentials,
        *,
        timeout: float = 3.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._credentials = credentials
        self._timeout = timeout
        self._http = http if http is not None else shared_http.client_for(self._api_url)

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
        rejected: str | None = None
        while True:
            authorization = self._authorization(rejected)
            if isinstance(authorization, SessionStatus):
                return authorization
            response = self._get(f"{self._api_url}/v2/sessions/{sid}", authorization)
            if isinstance(response, SessionStatus):
                return response
            if response.status_code == 401 and rejected is None:
                # A cached service-user token may have been revoked or expired early: once.
                rejected = authorization
                self._credentials.invalidate()
                continue
            return _status(response, now)

    def _authorization(self, rejected: str | None) -> str | SessionStatus:
        try:
            authorization = self._credentials.authorization()
        except CredentialsUnavailable as error:
            return SessionStatus(State.UNREADABLE, error.reason)
        if authorization is None:
            return SessionStatus(State.UNREADABLE, "provider_unconfigured")
        if authorization == rejected:
            # A personal access token cannot be renewed: the same header gets the same 401.
            return SessionStatus(State.UNREADABLE, "provider_unauthorised")
        return authorization

    def _get(self, url: str, authorization: str) -> httpx.Response | SessionStatus:
        try:
            return self._http.get(
                url,
                headers={"Authorization": authorization, "Accept": "application/json"},
                timeout=self._timeout,
            )
        except httpx.TimeoutException:
            return SessionStatus(State.UNREADABLE, "provider_timeout")
        except httpx.HTTPError:
            return SessionStatus(State.UNREADABLE, "provider_unreachable")


def _status(response: httpx.Response, now: datetime) -> SessionStatus:
    if response.status_code == 404:
        return _not_found(response)
    if response.status_code in {401, 403}:
        return SessionStatus(State.UNREADABLE, "provider_unauthorised")
    if response.status_code != 200:
        return SessionStatus(State.UNREADABLE, "provider_error")
    try:
        expires = _expiration(response.json())
    except (ValueError, TypeError, KeyError):
        return SessionStatus(State.UNREADABLE, "provider_malformed")
    if expires is not None and expires <= now:
        return SessionStatus(State.ENDED, "expired")
    return SessionStatus(State.ALIVE)


def _not_found(response: httpx.Response) -> SessionStatus:
    # Only Zitadel's own "not found" ends a session: a 404 from a proxy or a wrong
    # AIDIAL_ZITADEL_API_URL must not sign everyone out.
    if _zitadel_not_found(response):
        return SessionStatus(State.ENDED, "not_found")
    return SessionStatus(State.UNREADABLE, "unexpected_not_found")


def _zitadel_not_found(response: httpx.Response) -> bool:
    """Zitadel's error body: gRPC status NOT_FOUND (`{"code": 5, "message": ...}` from the REST
    gateway, `{"code": "not_found", ...}` from Connect), never an HTML page or an empty body."""
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return False
    code = body.get("code")
    return (code == 5 and not isinstance(code, bool)) or code == "not_found"


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
