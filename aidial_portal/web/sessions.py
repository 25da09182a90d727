"""Session stores that keep only a hash of the session key.

Django keys stored sessions by the cookie's value, so a copy of the session table (or of Redis)
would hold every live session cookie. These stores key them by a hash instead: the cookie never
leaves the browser, and a leaked store cannot be replayed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.sessions.backends import cache, db
from django.utils import timezone


def stored_key(session_key: str) -> str:
    # 40 hex characters: the width of Django's session_key column.
    return hashlib.blake2b(session_key.encode(), digest_size=20).hexdigest()


class DatabaseSessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        try:
            return self.model.objects.get(
                session_key=stored_key(self.session_key or ""), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, ValueError):
            self._session_key = None
            return None

    def exists(self, session_key: str) -> bool:
        return self.model.objects.filter(session_key=stored_key(session_key)).exists()

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        instance = super().create_model_instance(data)
        instance.session_key = stored_key(instance.session_key)
        return instance

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is None:
            return
        self.model.objects.filter(session_key=stored_key(session_key)).delete()


class CacheSessionStore(cache.SessionStore):
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

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is None:
            return
        self._cache.delete(self.cache_key_prefix + stored_key(session_key))


__all__ = ["CacheSessionStore", "DatabaseSessionStore"]
