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
never the service token or a response body. The calls go through `zitadel_api.ZitadelApi`
(service credentials, one renewal after a 401, retries, failures as reasons).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, wait
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import httpx

from aidial_portal.identity import http as shared_http
from aidial_portal.identity.service_credentials import ServiceCredentials
from aidial_portal.identity.zitadel_api import ApiFailure, Renewal, ZitadelApi
from aidial_portal.mfa.evidence import Evidence, Factor, Source, Unavailable, unavailable
from aidial_portal.mfa.levels import DEFAULT_ACCEPTED_FACTORS

logger = logging.getLogger("aidial_portal.identity")

TOTP_METHOD: Final = "AUTHENTICATION_METHOD_TYPE_TOTP"
RECOVERY_CODE_METHOD: Final = "AUTHENTICATION_METHOD_TYPE_RECOVERY_CODE"
# One-time codes that put the same `otp` in `amr` as TOTP does.
OTHER_OTP_METHODS: Final = frozenset(
    {"AUTHENTICATION_METHOD_TYPE_OTP_SMS", "AUTHENTICATION_METHOD_TYPE_OTP_EMAIL"}
)
# Session factors this portal recognises; `otpSms`, `otpEmail` and `intent` are deliberately
# absent. `webAuthN` is read separately (`_webauthn_factor`), and like every factor it counts
# only when AIDIAL_ACCEPTED_FACTORS lists it.
RECOGNISED_SESSION_FACTORS: Final[Mapping[str, Factor]] = {
    "totp": Factor.TOTP,
    "recoveryCode": Factor.RECOVERY_CODE,
}
# Enrolled WebAuthn credentials (User Service v2 `AuthenticationMethodType`; the official SDK's
# `UserServiceAuthenticationMethodType.AUTHENTICATION_METHOD_TYPE_PASSKEY` / `_U2_F`).
WEBAUTHN_METHODS: Final[Mapping[str, Factor]] = {
    "AUTHENTICATION_METHOD_TYPE_PASSKEY": Factor.PASSKEY,
    "AUTHENTICATION_METHOD_TYPE_U2F": Factor.SECURITY_KEY,
}
# Zitadel ids are decimal; this also keeps "/", "." and "%" out of the request path.
_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")


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
        accepted: frozenset[Factor] = DEFAULT_ACCEPTED_FACTORS,
    ) -> None:
        self._api = ZitadelApi(api_url, credentials, http=http, clock=clock, sleep=sleep)
        if timeout <= 0 or retries < 0:
            raise ValueError("timeout must be positive and retries not negative")
        self._mode = Source(mode)
        self._timeout = timeout
        self._retries = retries
        self._concurrent = concurrent
        self._executor = executor
        self._accepted = accepted

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
        authorization = self._api.authorization()
        if isinstance(authorization, ApiFailure):
            return unavailable(Unavailable(authorization.reason))
        session, methods = self._get_all(
            [f"/v2/sessions/{sid}", f"/v2/users/{sub}/authentication_methods"]
        )
        for result in (session, methods):
            if isinstance(result, ApiFailure):
                return unavailable(Unavailable(result.reason))
        evidence = _session_evidence(session, methods, sub, self._accepted)
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
        authorization = self._api.authorization()
        # Without the API (`provider_unconfigured`), `otp` may be an SMS or e-mail code: it
        # proves nothing.
        if isinstance(authorization, ApiFailure):
            return unavailable(Unavailable(authorization.reason), Source.AMR)
        if not _IDENTIFIER.fullmatch(sub):
            return unavailable(Unavailable.INVALID_SUBJECT, Source.AMR)
        (methods,) = self._get_all([f"/v2/users/{sub}/authentication_methods"])
        if isinstance(methods, ApiFailure):
            return unavailable(Unavailable(methods.reason), Source.AMR)
        return _amr_evidence(methods, verified)

    # -- HTTP ------------------------------------------------------------------------------

    def _get_all(self, paths: list[str]) -> list[dict[str, Any] | ApiFailure]:
        """GET each path within one shared budget and one renewal."""
        deadline = self._api.deadline(self._timeout)
        renewal = Renewal()

        def get(path: str) -> dict[str, Any] | ApiFailure:
            return self._api.get_json(
                path, deadline=deadline, retries=self._retries, renewal=renewal
            )

        if not self._concurrent or len(paths) == 1:
            return [get(path) for path in paths]
        pool = self._executor if self._executor is not None else shared_http.executor()
        first, *others = paths
        futures = [pool.submit(get, path) for path in others]
        results = [get(first)]
        done, _ = wait(futures, timeout=max(0.0, self._api.remaining(deadline)))
        for future in futures:
            if future not in done:
                # Still queued (a busy executor) or running past the budget: abandoned, and
                # unknown fails closed. A running call's own timeout ends it.
                future.cancel()
        results += [
            future.result() if future in done else ApiFailure("provider_timeout")
            for future in futures
        ]
        return results


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


def _session_evidence(
    session: Any, methods: Any, sub: str, accepted: frozenset[Factor] = DEFAULT_ACCEPTED_FACTORS
) -> Evidence:
    try:
        verified, user_id = _session_factors(session, accepted)
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
        webauthn_enrolled=frozenset(
            factor for method, factor in WEBAUTHN_METHODS.items() if method in enrolled
        ),
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


def _session_factors(
    document: Any, accepted: frozenset[Factor] = DEFAULT_ACCEPTED_FACTORS
) -> tuple[dict[Factor, datetime], str | None]:
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
    if "webAuthN" in factors and accepted & {Factor.PASSKEY, Factor.SECURITY_KEY}:
        factor, at = _webauthn_factor(_object(factors["webAuthN"]))
        verified[factor] = at
    return {factor: at for factor, at in verified.items() if factor in accepted}, user_id


def _webauthn_factor(webauthn: dict[str, Any]) -> tuple[Factor, datetime]:
    """Zitadel's `WebAuthNFactor {verified_at, user_verified}` (proto/zitadel/session/v2/
    session.proto; the SDK's `SessionServiceWebAuthNFactor(verifiedAt, userVerified)`): with
    user verification a passkey, without it a U2F security key (user presence only). Protobuf
    JSON may leave a false `userVerified` out."""
    user_verified = webauthn.get("userVerified", False)
    if not isinstance(user_verified, bool):
        raise _Malformed
    factor = Factor.PASSKEY if user_verified else Factor.SECURITY_KEY
    return factor, _timestamp(webauthn.get("verifiedAt"))


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
