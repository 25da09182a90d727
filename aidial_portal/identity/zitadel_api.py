"""Zitadel's APIs with the portal's service credentials: one client for every reader.

`get_json` (REST paths such as `GET /v2/sessions/{id}`) and `post_json` (Connect paths such as
`POST /zitadel.user.v2.UserService/ListUsers`, which Zitadel v4 serves beside the REST paths;
the official SDK `zitadel-client` calls them this way) answer with the JSON object, or with an
`ApiFailure` whose `reason` is a tag. Nothing raises: a timeout, a refused connection, an error
status or a body that is not a JSON object each become a reason, and only the reason is ever
logged, never the service token or a response body.

Reasons: `provider_unconfigured` (no service credentials), `provider_timeout`,
`provider_unreachable`, `provider_error` (5xx and unexpected statuses), `provider_unauthorised`
(401 after one renewal, or 403), `provider_not_found` (404), `provider_malformed`, and the
credentials' own reasons (`CredentialsUnavailable`).

A 401 drops the cached service-user token and the call is made once more with a new one; a
personal access token cannot be renewed, so it is not retried. Calls that belong together (the
two reads of one sign-in) share one `Renewal`, so they renew at most once between them.
Transient failures (timeout, unreachable, 5xx) are retried `retries` times with a doubling
backoff, only while the deadline leaves room.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from aidial_portal.identity import http as shared_http
from aidial_portal.identity.service_credentials import (
    CredentialsUnavailable,
    PersonalAccessToken,
    ServiceCredentials,
)

logger = logging.getLogger("aidial_portal.identity")

FIRST_BACKOFF: Final = 0.1
_STATUS_REASONS: Final[Mapping[int, str]] = {
    401: "provider_unauthorised",
    403: "provider_unauthorised",
    404: "provider_not_found",
}


@dataclass(frozen=True)
class ApiFailure:
    """Why a call gave no answer: a tag, safe to log. `transient`: it may clear up by itself."""

    reason: str
    transient: bool = False


@dataclass
class Renewal:
    """Whether the calls sharing this object have renewed the service credentials after a 401
    (at most once between them)."""

    done: bool = False


_UNAUTHORISED: Final = ApiFailure("provider_unauthorised")


class ZitadelApi:
    """One Zitadel API origin and the service credentials to call it with; thread-safe.

    `credentials` are the service user's (a bare string is a personal access token). Without
    `http`, the process's shared client for the API's origin is used (`identity.http`).
    Deadlines are times on `clock` (monotonic): take them from `deadline()`.
    """

    def __init__(
        self,
        api_url: str,
        credentials: ServiceCredentials | str,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(api_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("the Zitadel API URL must be an absolute http(s) URL")
        self._api_url = api_url.rstrip("/")
        self._credentials = (
            PersonalAccessToken(credentials) if isinstance(credentials, str) else credentials
        )
        self._http = http if http is not None else shared_http.client_for(self._api_url)
        self._clock = clock
        self._sleep = sleep
        self._renew_lock = threading.Lock()

    @property
    def api_url(self) -> str:
        return self._api_url

    @property
    def http(self) -> httpx.Client:
        """The HTTP client: the process's own for the API's origin, unless one was given."""
        return self._http

    def deadline(self, budget: float) -> float:
        """The deadline `budget` seconds from now, for `get_json` and `post_json`."""
        return self._clock() + budget

    def remaining(self, deadline: float) -> float:
        """Seconds left until `deadline` (negative once it has passed)."""
        return deadline - self._clock()

    def authorization(self) -> str | ApiFailure:
        """The Authorization header the next call sends, or why there is none."""
        try:
            header = self._credentials.authorization()
        except CredentialsUnavailable as error:
            return ApiFailure(error.reason)
        return header if header is not None else ApiFailure("provider_unconfigured")

    def get_json(
        self,
        path: str,
        *,
        deadline: float,
        retries: int = 0,
        renewal: Renewal | None = None,
    ) -> dict[str, Any] | ApiFailure:
        """`GET {api_url}{path}`: the answer's JSON object, or an `ApiFailure`."""
        return self._call("GET", path, None, deadline=deadline, retries=retries, renewal=renewal)

    def post_json(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        deadline: float,
        retries: int = 0,
        renewal: Renewal | None = None,
    ) -> dict[str, Any] | ApiFailure:
        """`POST {api_url}{path}` with `body` as JSON: the answer's JSON object, or an
        `ApiFailure`. Only for reads (list and search calls): a retried write could be made
        twice."""
        return self._call("POST", path, body, deadline=deadline, retries=retries, renewal=renewal)

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        deadline: float,
        retries: int,
        renewal: Renewal | None,
    ) -> dict[str, Any] | ApiFailure:
        renewal = renewal if renewal is not None else Renewal()
        attempt = 0
        renewed = False
        authorization = self.authorization()
        while True:
            if isinstance(authorization, ApiFailure):
                return authorization
            remaining = deadline - self._clock()
            if remaining <= 0:
                return ApiFailure("provider_timeout")
            result = self._attempt(
                method, path, body, timeout=remaining, authorization=authorization
            )
            if result == _UNAUTHORISED and not renewed:
                # A cached service-user token may have been revoked or expired early.
                renewed = True
                fresh = self._renewed(authorization, renewal)
                # A personal access token cannot be renewed: the same header gets the same 401.
                if fresh == authorization:
                    return result
                authorization = fresh
                continue
            if not isinstance(result, ApiFailure) or not result.transient:
                return result
            backoff = FIRST_BACKOFF * 2**attempt
            if attempt >= retries or deadline - self._clock() <= backoff:
                return result
            logger.info("zitadel request retried after: %s", result.reason)
            self._sleep(backoff)
            attempt += 1

    def _renewed(self, rejected: str, renewal: Renewal) -> str | ApiFailure:
        """The header after a 401 with `rejected`: at most one renewal per `Renewal`."""
        with self._renew_lock:
            current = self.authorization()
            if current == rejected and not renewal.done:
                renewal.done = True
                self._credentials.invalidate()
                current = self.authorization()
            return current

    def _attempt(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        timeout: float,
        authorization: str,
    ) -> dict[str, Any] | ApiFailure:
        url = self._api_url + path
        headers = {"Authorization": authorization, "Accept": "application/json"}
        try:
            if body is None:
                response = self._http.get(url, headers=headers, timeout=timeout)
            else:
                response = self._http.post(url, json=dict(body), headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            return ApiFailure("provider_timeout", transient=True)
        except httpx.HTTPError:
            return ApiFailure("provider_unreachable", transient=True)
        return _answer(response)


def _answer(response: httpx.Response) -> dict[str, Any] | ApiFailure:  # noqa: PLR0911
    """The JSON object of a 200 answer, or the failure any other answer is."""
    if response.status_code == 401:
        return _UNAUTHORISED
    if response.status_code != 200:
        # Only a server-side failure may clear up on its own; a 4xx answer will not change.
        if response.status_code >= 500:
            return ApiFailure("provider_error", transient=True)
        if response.status_code == 404 and not _zitadel_not_found(response):
            # A 404 from a proxy or a wrong AIDIAL_ZITADEL_API_URL says nothing about the
            # session or user asked for: it must not end sessions (`sessions revalidate`).
            return ApiFailure("unexpected_not_found")
        return ApiFailure(_STATUS_REASONS.get(response.status_code, "provider_error"))
    try:
        document = response.json()
    except ValueError:
        return ApiFailure("provider_malformed")
    if not isinstance(document, dict):
        return ApiFailure("provider_malformed")
    return document


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
