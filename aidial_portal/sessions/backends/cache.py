"""`SESSION_ENGINE = "aidial_portal.sessions.backends.cache"`: sessions in the cache (Redis,
`redis_cache.py`), under Django's key prefix and `stored_key`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.sessions.backends import cache

from aidial_portal.sessions.backends.base import HashedKeyStore, stored_key


class SessionStore(HashedKeyStore, cache.SessionStore):
    _cache: Any

    @property
    def cache_key(self) -> str:
        key: str = self._get_or_create_session_key()  # type: ignore[attr-defined]
        return self.cache_key_prefix + stored_key(key)

    def load(self) -> dict[str, Any]:
        # Django's cache store reads any error as "no session"; an unreachable Redis is an
        # outage (503), not a reason to ask a signed-in person to sign in again.
        session_data: dict[str, Any] | None = self._cache.get(self.cache_key)
        if session_data is not None:
            return session_data
        self._session_key = None
        return {}

    def exists(self, session_key: str) -> bool:
        return bool(session_key) and (self.cache_key_prefix + stored_key(session_key)) in (
            self._cache
        )

    def delete_stored(self, stored: str) -> bool:
        return bool(self._cache.delete(self.cache_key_prefix + stored))

    def exists_stored(self, stored: str) -> bool:
        return (self.cache_key_prefix + stored) in self._cache

    def rewrite_stored(
        self, stored: str, change: Callable[[dict[str, Any]], bool], *, timeout: int
    ) -> bool:
        key = self.cache_key_prefix + stored
        data: dict[str, Any] | None = self._cache.get(key)
        if data is None or not change(data):
            return False
        self._cache.set(key, data, max(1, timeout))
        return True
