"""How the portal authenticates to Zitadel's APIs as a service user.

Two ways, as Zitadel offers them: a personal access token (`AIDIAL_ZITADEL_SERVICE_TOKEN`),
or the service user's key file (`AIDIAL_ZITADEL_SERVICE_KEY_FILE`) exchanged for an access
token through the JWT profile grant (RFC 7523). The access token is cached per process until
shortly before it expires, so many sign-ins share one grant, and dropped after a 401.

Neither the key, nor the assertion, nor an access token reaches a log line, an exception
message or a `repr`: failures carry a reason tag only (`provider_timeout`,
`provider_unreachable`, `provider_error`, `provider_unauthorised`, `provider_malformed`).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import httpx
from django.views.decorators.debug import sensitive_variables
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from aidial_portal.identity import http as shared_http

logger = logging.getLogger("aidial_portal.identity")

KEY_FILE_VARIABLE: Final = "AIDIAL_ZITADEL_SERVICE_KEY_FILE"
JWT_BEARER_GRANT: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# `openid` plus the audience scope that lets the token call Zitadel's own APIs.
API_SCOPE: Final = "openid urn:zitadel:iam:org:project:id:zitadel:aud"
# The assertion is used once, right away; Zitadel refuses long-lived ones.
ASSERTION_LIFETIME: Final = 60
# Renew this long before the access token expires (or at half its life, if that is sooner).
RENEW_MARGIN: Final = 60
# Without `expires_in` (optional in RFC 6749) the token is kept this long at most.
UNDATED_TOKEN_LIFETIME: Final = 300
_REACHABILITY_REASONS: Final = frozenset({"provider_timeout", "provider_unreachable"})
# Key files are a few kilobytes; a larger file is not one.
_MAX_KEY_FILE_SIZE: Final = 64 * 1024


class ServiceCredentials(Protocol):
    """The Authorization header for Zitadel's APIs."""

    def authorization(self) -> str | None:
        """The header value, or None when no service credentials are configured.

        Raises `CredentialsUnavailable` when configured credentials cannot be had now.
        """
        ...

    def invalidate(self) -> None:
        """Forget a cached access token (the API answered 401 with it)."""
        ...


class CredentialsUnavailable(Exception):
    """No access token could be obtained; `reason` is a tag, safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoServiceCredentials:
    """Nothing configured: callers degrade as they would without the API."""

    def authorization(self) -> str | None:
        return None

    def invalidate(self) -> None:
        return None


@dataclass(frozen=True)
class PersonalAccessToken:
    """A service user's personal access token, sent as it is."""

    token: str = field(repr=False)

    def authorization(self) -> str | None:
        return f"Bearer {self.token}" if self.token else None

    def invalidate(self) -> None:
        # A personal access token cannot be renewed; the next call gets the same 401.
        return None


@dataclass(frozen=True)
class ServiceKey:
    """A Zitadel service user's key file, parsed. The private key never appears in a repr."""

    key_id: str
    user_id: str
    private_key: RSAKey = field(repr=False)


class KeyFileError(ValueError):
    """The key file cannot be used; the message names the variable, never the key."""


# Debug error pages show each frame's local variables; these hold the key or the assertion.
@sensitive_variables("raw", "document", "private_key")
def load_service_key(path: str | Path, variable: str = KEY_FILE_VARIABLE) -> ServiceKey:
    """Read and check a key file (`{"type":"serviceaccount","keyId","key","userId"}`)."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(_MAX_KEY_FILE_SIZE + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise KeyFileError(f"{variable}: cannot read {str(path)!r} ({reason})") from None
    if len(raw) > _MAX_KEY_FILE_SIZE:
        raise KeyFileError(f"{variable}: {str(path)!r} is too large to be a Zitadel key file")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise KeyFileError(f"{variable}: {str(path)!r} is not JSON") from None
    if not isinstance(document, dict) or document.get("type") != "serviceaccount":
        raise KeyFileError(
            f"{variable}: {str(path)!r} is not a service user key file "
            '(expected "type": "serviceaccount")'
        )
    for name in ("keyId", "key", "userId"):
        if not isinstance(document.get(name), str) or not document[name]:
            raise KeyFileError(f"{variable}: {str(path)!r} has no {name!r}")
    try:
        private_key = RSAKey.import_key(document["key"])
    except (JoseError, ValueError, TypeError):
        private_key = None
    if private_key is None or not private_key.is_private:
        raise KeyFileError(f"{variable}: the key in {str(path)!r} is not an RSA private key")
    return ServiceKey(key_id=document["keyId"], user_id=document["userId"], private_key=private_key)


@dataclass
class _Cached:
    header: str = field(repr=False)
    renew_at: float


class JwtProfileCredentials:
    """Access tokens from the JWT profile grant, one grant per process while it lasts.

    `token_endpoint` is resolved at grant time (from discovery, in production). Thread-safe:
    concurrent callers wait for the one grant in flight instead of starting their own.
    Without `http`, the grant goes through the process's shared client for the token
    endpoint's origin (`identity.http`), so no client (and no TLS context) is built here.
    """

    def __init__(
        self,
        key: ServiceKey,
        *,
        issuer: str,
        token_endpoint: Callable[[], str],
        http: httpx.Client | None = None,
        timeout: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._issuer = issuer
        self._token_endpoint = token_endpoint
        self._http = http
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: _Cached | None = None

    def __repr__(self) -> str:
        return f"JwtProfileCredentials(key_id={self._key.key_id!r}, user_id={self._key.user_id!r})"

    def authorization(self) -> str | None:
        with self._lock:
            now = self._clock()
            if self._cached is None or now >= self._cached.renew_at:
                self._cached = self._grant(now)
            return self._cached.header

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def close(self) -> None:
        """Nothing to release: the HTTP client belongs to the process (or to the caller)."""

    def _assertion(self, now: float) -> str:
        issued = int(now)
        claims = {
            "iss": self._key.user_id,
            "sub": self._key.user_id,
            "aud": self._issuer,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME,
            "jti": secrets.token_urlsafe(16),
        }
        header = {"alg": "RS256", "kid": self._key.key_id, "typ": "JWT"}
        return jwt.encode(header, claims, self._key.private_key, algorithms=["RS256"])

    @sensitive_variables("form", "document")
    def _grant(self, now: float) -> _Cached:
        try:
            endpoint = self._token_endpoint()
        except CredentialsUnavailable:
            raise
        except Exception as error:
            # The directory's ProviderUnavailable carries a tag too; anything else is an error.
            reason = getattr(error, "reason", "")
            raise CredentialsUnavailable(
                reason if reason in _REACHABILITY_REASONS else "provider_error"
            ) from None
        form = {
            "grant_type": JWT_BEARER_GRANT,
            "assertion": self._assertion(now),
            "scope": API_SCOPE,
        }
        try:
            http = self._http if self._http is not None else shared_http.client_for(endpoint)
        except ValueError:  # not an absolute http(s) URL
            raise CredentialsUnavailable("provider_malformed") from None
        try:
            response = http.post(
                endpoint, data=form, headers={"Accept": "application/json"}, timeout=self._timeout
            )
        except httpx.TimeoutException:
            raise CredentialsUnavailable("provider_timeout") from None
        except httpx.HTTPError:
            raise CredentialsUnavailable("provider_unreachable") from None
        if response.status_code >= 500:
            raise CredentialsUnavailable("provider_error")
        if response.status_code != 200:
            # A refused grant (invalid_grant, unknown key, disabled user): only a tag is logged.
            logger.warning("zitadel service key grant refused: status %s", response.status_code)
            raise CredentialsUnavailable("provider_unauthorised")
        document = _json(response)
        return _cached_token(document, now)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        raise CredentialsUnavailable("provider_malformed") from None
    if not isinstance(document, dict):
        raise CredentialsUnavailable("provider_malformed")
    return document


def _cached_token(document: dict[str, Any], now: float) -> _Cached:
    token = document.get("access_token")
    token_type = document.get("token_type", "Bearer")
    if not isinstance(token, str) or not token or not isinstance(token_type, str):
        raise CredentialsUnavailable("provider_malformed")
    if token_type.lower() != "bearer":
        raise CredentialsUnavailable("provider_malformed")
    lifetime = document.get("expires_in", UNDATED_TOKEN_LIFETIME)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        raise CredentialsUnavailable("provider_malformed")
    return _Cached(
        header=f"Bearer {token}", renew_at=now + lifetime - min(RENEW_MARGIN, lifetime / 2)
    )


def service_credentials(
    *,
    token: str,
    key: ServiceKey | None,
    issuer: str,
    token_endpoint: Callable[[], str],
) -> ServiceCredentials:
    """The credentials the settings describe (a key file wins; the checks refuse both)."""
    if key is not None:
        return JwtProfileCredentials(key, issuer=issuer, token_endpoint=token_endpoint)
    if token:
        return PersonalAccessToken(token)
    return NoServiceCredentials()
