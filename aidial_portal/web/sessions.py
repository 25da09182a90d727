"""Session stores that keep only a hash of the session key.

Django keys stored sessions by the cookie's value, so a copy of the session table (or of Redis)
would hold every live session cookie. These stores key them by a hash instead: the cookie never
leaves the browser, and a leaked store cannot be replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.sessions.backends import cache, db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from aidial_portal.sessions.index import forget, stored_key


class _NewKeyWithoutLookup:
    """Django looks up a new session key before `create()` stores it, but `create()` stores it
    with `must_create`, which refuses a key already taken (the table's primary key, Redis's
    `SET NX`) and then tries another. The lookup was one query more for every new session
    and every key change at sign-in."""

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)


class DatabaseSessionStore(_NewKeyWithoutLookup, db.SessionStore):
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
        self.delete_stored(stored_key(session_key))
        # The index from Zitadel sessions to this one (written at sign-in) goes with it.
        forget(stored_key(session_key))

    def delete_stored(self, stored: str) -> bool:
        """End the session kept under `stored` (a `stored_key`), from any process."""
        deleted, _ = self.model.objects.filter(session_key=stored).delete()
        return deleted > 0

    def exists_stored(self, stored: str) -> bool:
        return self.model.objects.filter(
            session_key=stored, expire_date__gt=timezone.now()
        ).exists()

    def rewrite_stored(
        self, stored: str, change: Callable[[dict[str, Any]], bool], *, timeout: int
    ) -> bool:
        """Change the data of the live session under `stored`, from any process (the
        provider's events); True when `change` changed it. The row is locked meanwhile."""
        with transaction.atomic():
            row = (
                self.model.objects.select_for_update()
                .filter(session_key=stored, expire_date__gt=timezone.now())
                .first()
            )
            if row is None:
                return False
            data = self.decode(row.session_data)
            if not change(data):
                return False
            row.session_data = self.encode(data)
            row.save(update_fields=["session_data"])
        return True


class CacheSessionStore(_NewKeyWithoutLookup, cache.SessionStore):
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
        self.delete_stored(stored_key(session_key))
        # The index from Zitadel sessions to this one (written at sign-in) goes with it.
        forget(stored_key(session_key))

    def delete_stored(self, stored: str) -> bool:
        """End the session kept under `stored` (a `stored_key`), from any process."""
        return bool(self._cache.delete(self.cache_key_prefix + stored))

    def exists_stored(self, stored: str) -> bool:
        return (self.cache_key_prefix + stored) in self._cache

    def rewrite_stored(
        self, stored: str, change: Callable[[dict[str, Any]], bool], *, timeout: int
    ) -> bool:
        """Change the data of the live session under `stored`, from any process (the
        provider's events); True when `change` changed it. It is kept for `timeout` seconds
        (what is left of its absolute lifetime)."""
        key = self.cache_key_prefix + stored
        data: dict[str, Any] | None = self._cache.get(key)
        if data is None or not change(data):
            return False
        self._cache.set(key, data, max(1, timeout))
        return True


__all__ = ["CacheSessionStore", "DatabaseSessionStore"]
