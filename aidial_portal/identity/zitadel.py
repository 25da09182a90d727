"""MFA evidence from Zitadel: the Session API and the user's authentication methods.

`amr` cannot tell TOTP from a recovery code (or from SMS and email OTP), and `mfa` in it has
been wrong before (CVE-2025-64103), so in session mode the named factor is read back from the
session itself, and only from a session whose `user` factor is the ID token's subject.
Login V1 sessions cannot be read; there (`Source.AMR`) `otp` in `amr` is the only signal, and
it counts only when the person's authentication methods list TOTP and neither OTP by SMS nor
OTP by e-mail (which give the same `otp`). AMR mode therefore needs the service credentials.

Reading never raises and never fails open: whatever goes wrong becomes `unavailable(<tag>)`,
which no requirement accepts. Tags: `session_not_readable`, `session_user_missing`,
`session_user_mismatch`, `invalid_subject`, `auth_time_missing`, `otp_ambiguous`,
`provider_unconfigured`, `provider_timeout`, `provider_unreachable`, `provider_error`,
`provider_unauthorised`, `provider_not_found`, `provider_malformed`. Only tags are logged,
never the service token or a response body. A 401 drops the cached service-user token and the
call is made once more with a new one (a personal access token cannot be renewed, so it is not
retried).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import httpx

from aidial_portal.identity import http as shared_http
from aidial_portal.identity.service_credentials import (
    CredentialsUnavailable,
    PersonalAccessToken,
    ServiceCredentials,
)
from aidial_portal.mfa.evidence import Evidence, Factor, Source, Unavailable, unavailable

logger = logging.getLogger("aidial_portal.identity")

TOTP_METHOD: Final = "AUTHENTICATION_METHOD_TYPE_TOTP"
RECOVERY_CODE_METHOD: Final = "AUTHENTICATION_METHOD_TYPE_RECOVERY_CODE"
# One-time codes that put the same `otp` in `amr` as TOTP does.
OTHER_OTP_METHODS: Final = frozenset(
    {"AUTHENTICATION_METHOD_TYPE_OTP_SMS", "AUTHENTICATION_METHOD_TYPE_OTP_EMAIL"}
)
# Session factors this portal recognises; `otpSms`, `otpEmail`, `webAuthN` and `intent` are
# deliberately absent.
RECOGNISED_SESSION_FACTORS: Final[Mapping[str, Factor]] = {
    "totp": Factor.TOTP,
    "recoveryCode": Factor.RECOVERY_CODE,
}
# Zitadel ids are decimal; this also keeps "/", "." and "%" out of the request path.
_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")
_FIRST_BACKOFF: Final = 0.1
_STATUS_REASONS: Final[Mapping[int, Unavailable]] = {
    401: Unavailable.PROVIDER_UNAUTHORISED,
    403: Unavailable.PROVIDER_UNAUTHORISED,
    404: Unavailable.PROVIDER_NOT_FOUND,
}


class EvidenceReader(Protocol):
    """Reads the MFA evidence of one sign-in, right after the token exchange."""

    def read(
        self,
        *,
        sid: str | None,
        sub: str,
        amr: Sequence[str],
        auth_time: datetime | None = None,
    ) -> Evidence:
        """`auth_time` (aware) dates an `otp` in `amr`; only AMR mode uses it."""
        ...


@dataclass
class StaticEvidenceReader:
    """A test double: returns `evidence` and remembers what it was asked."""

    evidence: Evidence
    calls: list[dict[str, Any]] = field(default_factory=list)

    def read(
        self,
        *,
        sid: str | None,
        sub: str,
        amr: Sequence[str],
        auth_time: datetime | None = None,
    ) -> Evidence:
        self.calls.append({"sid": sid, "sub": sub, "amr": list(amr), "auth_time": auth_time})
        return self.evidence


@dataclass(frozen=True)
class _Failure:
    reason: Unavailable
    transient: bool = False


@dataclass
class _Renewal:
    """Whether this read has already renewed the service credentials after a 401."""

    done: bool = False


_UNAUTHORISED: Final = _Failure(Unavailable.PROVIDER_UNAUTHORISED)


class _Malformed(Exception):
    """A response that is JSON but not the shape Zitadel documents."""


class ZitadelEvidenceReader:
    """The real `EvidenceReader`: two GETs with a service user's token, within `timeout`.

    `credentials` are the service user's (a bare string is a personal access token).

    `timeout` is the budget for the whole read, retries and backoff included. `concurrent`
    runs the two calls side by side (False exists for benchmarks and comparison): one in the
    calling thread, the other on the process's shared executor (`identity.http`), so no thread
    pool is built per sign-in. Without `http`, the process's shared client for the API's
    origin is used.
    """

    def __init__(
        self,
        api_url: str,
        credentials: ServiceCredentials | str,
        *,
        mode: Source = Source.SESSION,
        timeout: float = 3.0,
        retries: int = 2,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        concurrent: bool = True,
        clock: Callable[[], float] = time.monotonic,
        executor: Executor | None = None,
    ) -> None:
        parts = urlsplit(api_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("the Zitadel API URL must be an absolute http(s) URL")
        if timeout <= 0 or retries < 0:
            raise ValueError("timeout must be positive and retries not negative")
        self._api_url = api_url.rstrip("/")
        self._credentials = (
            PersonalAccessToken(credentials) if isinstance(credentials, str) else credentials
        )
        self._mode = Source(mode)
        self._timeout = timeout
        self._retries = retries
        self._http = http if http is not None else shared_http.client_for(self._api_url)
        self._sleep = sleep
        self._concurrent = concurrent
        self._clock = clock
        self._executor = executor
        self._renew_lock = threading.Lock()

    @property
    def mode(self) -> Source:
        return self._mode

    @property
    def timeout(self) -> float:
        return self._timeout

    def close(self) -> None:
        """Nothing to release: the HTTP client belongs to the process (or to the caller)."""

    def read(
        self,
        *,
        sid: str | None,
        sub: str,
        amr: Sequence[str],
        auth_time: datetime | None = None,
    ) -> Evidence:
        try:
            if self._mode is Source.AMR:
                evidence = self._read_amr(sub, amr, auth_time)
            else:
                evidence = self._read_session(sid, sub, amr)
        except Exception as error:
            # A bug here must neither crash the callback nor admit the sign-in.
            logger.error("zitadel evidence read failed: %s", type(error).__name__)
            evidence = unavailable(Unavailable.PROVIDER_ERROR, self._mode)
        if evidence.unavailable is not None:
            logger.warning("zitadel evidence unavailable: %s", evidence.unavailable)
        return evidence

    # -- modes -----------------------------------------------------------------------------

    def _read_session(self, sid: str | None, sub: str, amr: Sequence[str] = ()) -> Evidence:
        if not sid or sid.startswith("V1_") or not _IDENTIFIER.fullmatch(sid):
            return unavailable(Unavailable.SESSION_NOT_READABLE)
        if not _IDENTIFIER.fullmatch(sub):
            return unavailable(Unavailable.INVALID_SUBJECT)
        authorization = self._authorization()
        if isinstance(authorization, _Failure):
            return unavailable(authorization.reason)
        if authorization is None:
            return unavailable(Unavailable.PROVIDER_UNCONFIGURED)
        session, methods = self._get_all(
            [f"/v2/sessions/{sid}", f"/v2/users/{sub}/authentication_methods"]
        )
        for result in (session, methods):
            if isinstance(result, _Failure):
                return unavailable(result.reason)
        evidence = _session_evidence(session, methods, sub)
        if evidence.unavailable is None and not evidence.verified and evidence.totp_enrolled:
            _say_if_a_second_factor_is_unseen(session)
        return evidence

    def _read_amr(self, sub: str, amr: Sequence[str], auth_time: datetime | None) -> Evidence:
        # A bare string is a Sequence[str] too; "otp" must be a value, not a substring.
        otp = "otp" in ([amr] if isinstance(amr, str) else list(amr))
        verified: dict[Factor, datetime] = {}
        if otp:
            if auth_time is None or auth_time.tzinfo is None:
                return unavailable(Unavailable.AUTH_TIME_MISSING, Source.AMR)
            verified[Factor.OTP] = auth_time.astimezone(UTC)
        authorization = self._authorization()
        if authorization is None:
            # Without the API, `otp` may be an SMS or e-mail code: it proves nothing.
            return unavailable(Unavailable.PROVIDER_UNCONFIGURED, Source.AMR)
        if isinstance(authorization, _Failure):
            return unavailable(authorization.reason, Source.AMR)
        if not _IDENTIFIER.fullmatch(sub):
            return unavailable(Unavailable.INVALID_SUBJECT, Source.AMR)
        (methods,) = self._get_all([f"/v2/users/{sub}/authentication_methods"])
        if isinstance(methods, _Failure):
            return unavailable(methods.reason, Source.AMR)
        return _amr_evidence(methods, verified)

    # -- HTTP ------------------------------------------------------------------------------

    def _authorization(self) -> str | _Failure | None:
        try:
            return self._credentials.authorization()
        except CredentialsUnavailable as error:
            return _Failure(Unavailable(error.reason))

    def _get_all(self, paths: list[str]) -> list[Any]:
        """GET each path within one shared budget; each result is JSON or a `_Failure`."""
        deadline = self._clock() + self._timeout
        renewal = _Renewal()
        if not self._concurrent or len(paths) == 1:
            return [self._get_json(path, deadline, renewal) for path in paths]
        pool = self._executor if self._executor is not None else shared_http.executor()
        first, *others = paths
        futures = [pool.submit(self._get_json, path, deadline, renewal) for path in others]
        results = [self._get_json(first, deadline, renewal)]
        done, _ = wait(futures, timeout=max(0.0, deadline - self._clock()))
        for future in futures:
            if future not in done:
                # Still queued (a busy executor) or running past the budget: abandoned, and
                # unknown fails closed. A running call's own timeout ends it.
                future.cancel()
        results += [
            future.result() if future in done else _Failure(Unavailable.PROVIDER_TIMEOUT)
            for future in futures
        ]
        return results

    def _get_json(self, path: str, deadline: float, renewal: _Renewal) -> Any:
        attempt = 0
        renewed = False
        authorization = self._authorization()
        while True:
            if not isinstance(authorization, str):
                return authorization or _Failure(Unavailable.PROVIDER_UNCONFIGURED)
            remaining = deadline - self._clock()
            if remaining <= 0:
                return _Failure(Unavailable.PROVIDER_TIMEOUT)
            result = self._attempt(self._api_url + path, remaining, authorization)
            if result == _UNAUTHORISED and not renewed:
                # A cached service-user token may have been revoked or expired early.
                renewed = True
                fresh = self._renewed(authorization, renewal)
                # A personal access token cannot be renewed: the same header gets the same 401.
                if fresh == authorization:
                    return result
                authorization = fresh
                continue
            if not isinstance(result, _Failure) or not result.transient:
                return result
            backoff = _FIRST_BACKOFF * 2**attempt
            if attempt >= self._retries or deadline - self._clock() <= backoff:
                return result
            logger.info("zitadel request retried after: %s", result.reason)
            self._sleep(backoff)
            attempt += 1

    def _renewed(self, rejected: str, renewal: _Renewal) -> str | _Failure | None:
        """The header after a 401 with `rejected`: at most one renewal per read."""
        with self._renew_lock:
            current = self._authorization()
            if current == rejected and not renewal.done:
                renewal.done = True
                self._credentials.invalidate()
                current = self._authorization()
            return current

    def _attempt(self, url: str, remaining: float, authorization: str) -> Any:
        try:
            response = self._http.get(
                url,
                headers={
                    "Authorization": authorization,
                    "Accept": "application/json",
                },
                timeout=remaining,
            )
        except httpx.TimeoutException:
            return _Failure(Unavailable.PROVIDER_TIMEOUT, transient=True)
        except httpx.HTTPError:
            return _Failure(Unavailable.PROVIDER_UNREACHABLE, transient=True)
        if response.status_code == 401:
            return _UNAUTHORISED
        if response.status_code != 200:
            return _status_failure(response.status_code)
        try:
            return response.json()
        except ValueError:
            return _Failure(Unavailable.PROVIDER_MALFORMED)


def _status_failure(status: int) -> _Failure:
    # Only a server-side failure may clear up on its own; a 4xx answer will not change.
    if status >= 500:
        return _Failure(Unavailable.PROVIDER_ERROR, transient=True)
    return _Failure(_STATUS_REASONS.get(status, Unavailable.PROVIDER_ERROR))


def _amr_evidence(methods: Any, verified: dict[Factor, datetime]) -> Evidence:
    try:
        enrolled = _method_types(methods)
    except _Malformed:
        return unavailable(Unavailable.PROVIDER_MALFORMED, Source.AMR)
    if verified and (TOTP_METHOD not in enrolled or enrolled & OTHER_OTP_METHODS):
        # `otp` was a one-time code, but perhaps not from the authenticator app.
        return unavailable(Unavailable.OTP_AMBIGUOUS, Source.AMR)
    return Evidence(
        source=Source.AMR,
        totp_enrolled=TOTP_METHOD in enrolled,
        recovery_codes_present=RECOVERY_CODE_METHOD in enrolled,
        verified=verified,
    )


def _session_evidence(session: Any, methods: Any, sub: str) -> Evidence:
    try:
        verified, user_id = _session_factors(session)
        enrolled = _method_types(methods)
    except _Malformed:
        return unavailable(Unavailable.PROVIDER_MALFORMED)
    if user_id is None:
        # A session that does not say whose it is cannot be evidence about `sub`.
        return unavailable(Unavailable.SESSION_USER_MISSING)
    if user_id != sub:
        return unavailable(Unavailable.SESSION_USER_MISMATCH)
    return Evidence(
        source=Source.SESSION,
        totp_enrolled=TOTP_METHOD in enrolled,
        recovery_codes_present=RECOVERY_CODE_METHOD in enrolled,
        verified=verified,
    )


# Session factors that are a second factor (any kind, recognised or not).
_SECOND_FACTORS: Final = frozenset({"totp", "otpSms", "otpEmail", "webAuthN", "recoveryCode"})


def _say_if_a_second_factor_is_unseen(document: Any) -> None:
    """A person with an authenticator app signed in, and the session lists no second factor:
    Zitadel's login asks for the second factor of anyone who has one, so this was a check the
    Session API does not report, i.e. a recovery code on a Zitadel before 4.11 (the
    `recoveryCode` factor). Not the ID token: a recovery code adds nothing to `amr` (Zitadel's
    `AuthMethodTypesToAMR`, internal/api/oidc/amr.go, maps only password, passkey, U2F, IdP and
    the one-time codes). Such a sign-in stays not compliant; the operator is told why."""
    factors = document.get("session", {}).get("factors", {}) if isinstance(document, dict) else {}
    if isinstance(factors, dict) and not _SECOND_FACTORS & factors.keys():
        logger.error(
            "recovery_code_factor_missing: a person with an authenticator app signed in, but "
            "Zitadel's Session API lists no second factor; Zitadel before 4.11 does not report "
            "recovery-code checks (the recoveryCode factor). Upgrade Zitadel to 4.11 or later; "
            "until then a sign-in with a recovery code does not count as multi-factor "
            "authentication"
        )


def _session_factors(document: Any) -> tuple[dict[Factor, datetime], str | None]:
    session = _object(_object(document).get("session"))
    factors = _object(session.get("factors", {}))
    user_id = None
    if "user" in factors:
        user_id = _object(factors["user"]).get("id")
        if user_id is not None and not isinstance(user_id, str):
            raise _Malformed
    verified = {
        factor: _timestamp(_object(factors[name]).get("verifiedAt"))
        for name, factor in RECOGNISED_SESSION_FACTORS.items()
        if name in factors
    }
    return verified, user_id


def _method_types(document: Any) -> frozenset[str]:
    # Protobuf JSON leaves an empty list out.
    types = _object(document).get("authMethodTypes", [])
    if not isinstance(types, list) or not all(isinstance(item, str) for item in types):
        raise _Malformed
    return frozenset(types)


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed
    return value


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _Malformed
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise _Malformed from error
    if moment.tzinfo is None:
        raise _Malformed
    return moment.astimezone(UTC)
