"""The provider's discovery document and signing keys, cached.

One `ProviderDirectory` per process, shared by every request thread. It fetches lazily (the
constructor makes no network call), keeps what it fetched for `ttl` seconds, and when the
provider cannot be reached serves what it has (stale) instead of failing sign-ins. After a
failed fetch it waits `refresh_interval` seconds before trying again, so an outage costs one
timeout per interval rather than one per request.

Every endpoint the portal calls from the server (token, userinfo, JWKS) or sends the browser to
(authorization, end session) must be on the issuer's own origin: a discovery document that
points elsewhere is a misconfiguration (or an attack) and nothing from it is used.

Failure reason tags: `provider_timeout`, `provider_unreachable`, `provider_error`,
`malformed_discovery`, `malformed_jwks`, `issuer_mismatch`, `endpoint_off_origin`,
`not_fetched`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar
from urllib.parse import urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key, KeySet

from aidial_portal.identity import http as shared_http

logger = logging.getLogger("aidial_portal.identity")

# Signing keys only: an `oct` entry in a public JWKS would be a shared secret anyone can read.
_SIGNING_KEY_TYPES: Final = frozenset({"RSA", "EC", "OKP"})

T = TypeVar("T")


class ProviderUnavailable(Exception):
    """The provider could not be read and nothing usable is cached; `reason` is a tag."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderMisconfigured(ProviderUnavailable):
    """The provider answers, but what it says cannot be trusted with these settings.

    A `ProviderUnavailable` too, so a caller that only asks "can I use the provider now?"
    needs one `except`. `detail` says what to change; it holds settings and URLs, no secret.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.detail = detail

    def again(self) -> ProviderMisconfigured:
        """A fresh copy to raise: one cached instance raised by many threads would collect
        every request's traceback."""
        fresh = type(self).__new__(type(self))
        ProviderMisconfigured.__init__(fresh, self.reason, self.detail)
        return fresh


class IssuerMismatch(ProviderMisconfigured):
    """Discovery names another issuer than the one configured: nothing from it is trusted."""

    def __init__(self) -> None:
        super().__init__(
            "issuer_mismatch",
            "the provider's discovery document names another issuer: set AIDIAL_OIDC_ISSUER "
            "to exactly the issuer it publishes (Zitadel's ExternalDomain, ExternalPort and "
            "ExternalSecure decide it)",
        )


class EndpointOffOrigin(ProviderMisconfigured):
    def __init__(self, name: str, url: str, issuer: str) -> None:
        super().__init__(
            "endpoint_off_origin",
            f"discovery's {name} {url!r} is not on the issuer's origin ({issuer}): set "
            "AIDIAL_OIDC_ISSUER to the provider's own issuer URL, and Zitadel's ExternalDomain, "
            "ExternalPort and ExternalSecure to the address people and the portal reach it on",
        )


# Endpoints that must be on the issuer's origin; `jwks_uri`, `authorization_endpoint` and
# `token_endpoint` are required (OIDC Discovery 1.0, section 3), the others optional.
REQUIRED_ENDPOINTS: Final = ("authorization_endpoint", "token_endpoint", "jwks_uri")
OPTIONAL_ENDPOINTS: Final = ("userinfo_endpoint", "end_session_endpoint")


@dataclass
class _Cached(Generic[T]):
    value: T | None = None
    fetched_at: float = 0.0
    # Set by a failed fetch, cleared by a good one.
    failed_at: float | None = None
    failure: str | None = None
    # The URL the value came from (the JWKS follows `jwks_uri`).
    source: str | None = None
    # The misconfiguration behind `failure`, kept to be raised again with its detail.
    problem: ProviderMisconfigured | None = None


class ProviderDirectory:
    """Discovery metadata and JWKS of one issuer; a `tokens.KeySource`. Thread-safe."""

    def __init__(
        self,
        issuer: str,
        *,
        http: httpx.Client | None = None,
        ttl: float = 300,
        refresh_interval: float = 30,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 3.0,
    ) -> None:
        if urlsplit(issuer).scheme not in ("https", "http") or not urlsplit(issuer).netloc:
            raise ValueError("the issuer must be an absolute http(s) URL")
        self._issuer = issuer
        self._discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self._http = http if http is not None else shared_http.client_for(issuer)
        self._ttl = ttl
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._timeout = timeout
        # Reentrant: keys() and refresh() read metadata while holding it. Fetches run under
        # the lock so that concurrent requests wait for one fetch instead of starting many.
        self._lock = threading.RLock()
        self._metadata: _Cached[dict[str, Any]] = _Cached(source=self._discovery_url)
        self._jwks: _Cached[KeySet] = _Cached()
        self._last_refresh: float | None = None

    @property
    def issuer(self) -> str:
        return self._issuer

    def metadata(self) -> dict[str, Any]:
        """The discovery document; stale when the provider is down and a copy is cached."""
        with self._lock:
            return self._metadata_locked()

    def keys(self) -> KeySet:
        """The signing keys named by `jwks_uri`; stale when the provider is down."""
        with self._lock:
            cache = self._jwks_cache()
            return self._cached(cache, lambda: self._fetch_jwks(str(cache.source)))

    def refresh(self) -> KeySet | None:
        """Fetch the JWKS now; None when refused by the rate limit or when the fetch fails."""
        with self._lock:
            now = self._clock()
            if self._last_refresh is not None and now - self._last_refresh < self._refresh_interval:
                return None
            self._last_refresh = now
            try:
                cache = self._jwks_cache()
            except ProviderUnavailable:
                return None
            self._fetch_into(cache, lambda: self._fetch_jwks(str(cache.source)), now)
            return cache.value if cache.failure is None else None

    def status(self) -> dict[str, Any]:
        """What is known now, for /readyz; makes no network call.

        `ok`: the last fetch succeeded. `stale`: the last fetch failed, an older copy is
        served. `unavailable`: nothing usable (never fetched, or every fetch failed).
        `issuer_mismatch`: discovery names another issuer.
        """
        with self._lock:
            now = self._clock()
            return {
                "issuer": self._issuer,
                "discovery": _state(self._metadata),
                "discovery_age": _age(self._metadata, now),
                "discovery_error": self._metadata.failure,
                "keys": _state(self._jwks),
                "keys_age": _age(self._jwks, now),
                "keys_error": self._jwks.failure,
                "key_count": len(self._jwks.value.keys) if self._jwks.value is not None else 0,
            }

    def close(self) -> None:
        """Nothing to release: the HTTP client belongs to the process (or to the caller)."""

    # -- internals (the lock is held) ---------------------------------------------------

    def _metadata_locked(self) -> dict[str, Any]:
        return self._cached(self._metadata, self._fetch_discovery)

    def _jwks_cache(self) -> _Cached[KeySet]:
        uri = self._metadata_locked()["jwks_uri"]
        if self._jwks.source != uri:
            # A new jwks_uri: nothing fetched from the old one says anything about it.
            self._jwks = _Cached(source=uri)
        return self._jwks

    def _cached(self, cache: _Cached[T], fetch: Callable[[], T]) -> T:
        now = self._clock()
        if cache.value is not None and cache.failure is None and now - cache.fetched_at < self._ttl:
            return cache.value
        if cache.failed_at is None or now - cache.failed_at >= self._refresh_interval:
            self._fetch_into(cache, fetch, now)
        if isinstance(cache.problem, ProviderMisconfigured):
            raise cache.problem.again()
        if cache.value is not None:
            return cache.value
        raise ProviderUnavailable(cache.failure or "not_fetched")

    def _fetch_into(self, cache: _Cached[T], fetch: Callable[[], T], now: float) -> None:
        try:
            value = fetch()
        except ProviderMisconfigured as error:
            # Served stale, a copy fetched before the change would hide it: drop it.
            cache.value, cache.failed_at, cache.failure = None, now, error.reason
            cache.problem = error
            logger.error("identity provider misconfigured: %s", error.detail)
            return
        except ProviderUnavailable as error:
            cache.failed_at, cache.failure = now, error.reason
            logger.warning("identity provider fetch failed: %s", error.reason)
            return
        cache.value, cache.fetched_at = value, now
        cache.failed_at = cache.failure = cache.problem = None

    def _fetch_discovery(self) -> dict[str, Any]:
        document = self._get_json(self._discovery_url, "malformed_discovery")
        if not isinstance(document, dict) or not isinstance(document.get("issuer"), str):
            raise ProviderUnavailable("malformed_discovery")
        if document["issuer"] != self._issuer:
            raise IssuerMismatch()
        for name in REQUIRED_ENDPOINTS + OPTIONAL_ENDPOINTS:
            url = document.get(name)
            if url is None and name in OPTIONAL_ENDPOINTS:
                continue
            if not isinstance(url, str) or not _absolute(url):
                raise ProviderUnavailable("malformed_discovery")
            if not self._on_issuer_origin(url):
                raise EndpointOffOrigin(name, url, self._issuer)
        return document

    def _on_issuer_origin(self, url: str) -> bool:
        # Same scheme, host and port as the issuer (so plain http only when the issuer itself
        # is plain http, which the settings allow on loopback only), and no user info.
        target, issuer = urlsplit(url), urlsplit(self._issuer)
        return (
            (target.scheme, target.hostname, target.port)
            == (issuer.scheme, issuer.hostname, issuer.port)
            and target.username is None
            and target.password is None
        )

    def _fetch_jwks(self, uri: str) -> KeySet:
        document = self._get_json(uri, "malformed_jwks")
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ProviderUnavailable("malformed_jwks")
        keys: list[Key] = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("kty") not in _SIGNING_KEY_TYPES:
                continue
            try:
                keys.append(JWKRegistry.import_key(entry))
            except (JoseError, ValueError, TypeError, KeyError):
                # One unreadable key does not make the others unusable (RFC 7517, 5).
                continue
        if not keys:
            raise ProviderUnavailable("malformed_jwks")
        return KeySet(keys)

    def _get_json(self, url: str, malformed: str) -> Any:
        try:
            response = self._http.get(
                url, timeout=self._timeout, headers={"Accept": "application/json"}
            )
        except httpx.TimeoutException as error:
            raise ProviderUnavailable("provider_timeout") from error
        except httpx.HTTPError as error:
            raise ProviderUnavailable("provider_unreachable") from error
        if response.status_code != 200:
            raise ProviderUnavailable("provider_error")
        try:
            return response.json()
        except ValueError as error:
            raise ProviderUnavailable(malformed) from error


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("https", "http") and bool(parts.netloc)


def _state(cache: _Cached[Any]) -> str:
    if cache.problem is not None:
        return cache.problem.reason
    if cache.value is None:
        return "unavailable"
    return "stale" if cache.failure is not None else "ok"


def _age(cache: _Cached[Any], now: float) -> float | None:
    return None if cache.value is None else now - cache.fetched_at
