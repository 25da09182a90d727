"""What both session stores share: keys kept only as a hash, and one `delete()`.

Django keys stored sessions by the cookie's value, so a copy of the session table (or of Redis)
would hold every live session cookie. These stores key them by a hash instead: the cookie never
leaves the browser, and a leaked store cannot be replayed. The stored data itself is Django's
(the same serializer, the same fields), so sessions written before keep working.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils.crypto import get_random_string

from aidial_portal.sessions.models import SessionBinding


def stored_key(session_key: str) -> str:
    """The key a session is stored under: a hash, so a copy of the store holds no cookie."""
    # 40 hex characters: the width of Django's session_key column.
    return hashlib.blake2b(session_key.encode(), digest_size=20).hexdigest()


def forget(stored: str) -> None:
    """The session under `stored` ended (sign-out, new key at sign-in, expiry): its binding to
    a Zitadel session (`sessions.index`, written at sign-in) goes with it."""
    SessionBinding.objects.filter(stored_key=stored).delete()


class HashedKeyStore:
    """Mixed in before Django's store: each store adds `delete_stored` and `exists_stored`."""

    session_key: str | None

    def _get_new_session_key(self) -> str:
        # Django looks up a new session key before `create()` stores it, but `create()` stores
        # it with `must_create`, which refuses a key already taken (the table's primary key,
        # Redis's `SET NX`) and then tries another. The lookup was one query more for every
        # new session and every key change at sign-in.
        return get_random_string(32, VALID_KEY_CHARS)

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is None:
            return
        self.delete_stored(stored_key(session_key))
        forget(stored_key(session_key))

    def delete_stored(self, stored: str) -> bool:
        """End the session kept under `stored` (a `stored_key`), from any process."""
        raise NotImplementedError

    def exists_stored(self, stored: str) -> bool:
        raise NotImplementedError

    def rewrite_stored(
        self, stored: str, change: Callable[[dict[str, Any]], bool], *, timeout: int
    ) -> bool:
        """Change the data of the live session under `stored`, from any process (the
        provider's events); True when `change` changed it. A cache keeps it for `timeout`
        seconds (what is left of its absolute lifetime)."""
        raise NotImplementedError
