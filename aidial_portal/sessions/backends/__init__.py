"""The portal's session stores (`SESSION_ENGINE`), and the one the settings chose."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from aidial_portal.sessions.backends import cache, db

SessionStore = cache.SessionStore | db.SessionStore

ENGINES: dict[str, type[SessionStore]] = {
    db.__name__: db.SessionStore,
    cache.__name__: cache.SessionStore,
}


def configured_store() -> SessionStore:
    """A store of the configured engine, used to end sessions by their stored key."""
    try:
        return ENGINES[settings.SESSION_ENGINE]()
    except KeyError:
        raise ImproperlyConfigured(
            f"SESSION_ENGINE must be one of {sorted(ENGINES)}: sessions are ended by stored key"
        ) from None
