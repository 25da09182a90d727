"""The provider's discovery document and signing keys, cached.

One `ProviderDirectory` per process, shared by every request thread. It fetches lazily (the
constructor makes no network call), keeps what it fetched for `ttl` seconds, and when the
provider cannot be reached serves what it has (stale) instead of failing sign-ins. After a
failed fetch it waits `refresh_interval` seconds before trying again, so an outage costs one
timeout per interval rather than one per request.

Failure reason tags: `provider_timeout`, `provider_unreachable`, `provider_error`,
`malformed_discovery`, `malformed_jwks`, `issuer_mismatch`, `not_fetched`.
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

logger = logging.getLogger("aidial_portal.identity")

# Signing keys only: an `oct` entry in a public JWKS would be a shared secret anyone can read.
_SIGNING_KEY_TYPES: Final = frozenset({"RSA", "EC", "OKP"})

T = TypeVar("T")


class ProviderUnavailable(Exception):
    """The provider could not be read and nothing usable is cached; `reason` is a tag."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IssuerMismatch(ProviderUnavailable):
    """Discovery names another issuer than the one configured: nothing from it is trusted.

    A `ProviderUnavailable` too, so a caller that only asks "can I use the provider now?"
    needs one `except`.
    """

    def __init__(self) -> None:
        super().__init__("issuer_mismatch")


@dataclass
class _Cached(Generic[T]):
    value: T | None = None
    fetched_at: float = 0.0
    # Set by a failed fetch, cleared by a good one.
    failed_at: float | None = None
    failure: str | None = None
    # The URL the value came from (the JWKS follows `jwks_uri`).
    source: str | None = None


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
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(follow_redirects=False)
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
        if self._owns_http:
            self._http.close()

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
        if cache.failure == "issuer_mismatch":
            raise IssuerMismatch()
        if cache.value is not None:
            return cache.value
        raise ProviderUnavailable(cache.failure or "not_fetched")

    def _fetch_into(self, cache: _Cached[T], fetch: Callable[[], T], now: float) -> None:
        try:
            value = fetch()
        except ProviderUnavailable as error:
            cache.failed_at, cache.failure = now, error.reason
            logger.warning("identity provider fetch failed: %s", error.reason)
            return
        cache.value, cache.fetched_at = value, now
        cache.failed_at = cache.failure = None

    def _fetch_discovery(self) -> dict[str, Any]:
        document = self._get_json(self._discovery_url, "malformed_discovery")
        if not isinstance(document, dict) or not isinstance(document.get("issuer"), str):
            raise ProviderUnavailable("malformed_discovery")
        if document["issuer"] != self._issuer:
            raise IssuerMismatch()
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not self._acceptable_url(jwks_uri):
            raise ProviderUnavailable("malformed_discovery")
        return document

    def _acceptable_url(self, url: str) -> bool:
        # https, or plain http only when the issuer itself is plain http (local development).
        parts = urlsplit(url)
        allowed = ("https", "http") if urlsplit(self._issuer).scheme == "http" else ("https",)
        return parts.scheme in allowed and bool(parts.netloc)

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


def _state(cache: _Cached[Any]) -> str:
    if cache.failure == "issuer_mismatch":
        return "issuer_mismatch"
    if cache.value is None:
        return "unavailable"
    return "stale" if cache.failure is not None else "ok"


def _age(cache: _Cached[Any], now: float) -> float | None:
    return None if cache.value is None else now - cache.fetched_at
