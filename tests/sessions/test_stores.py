"""Sessions stored before the stores moved to `sessions/backends/` still read after a deploy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.cache import KEY_PREFIX
from django.contrib.sessions.models import Session
from django.contrib.sessions.serializers import JSONSerializer
from django.core import signing
from django.core.cache import caches
from django.utils import timezone

from aidial_portal.sessions.backends import cache, db
from aidial_portal.sessions.backends.base import stored_key

pytestmark = pytest.mark.django_db

COOKIE = "abcdefgh12345678abcdefgh12345678"


def test_a_database_session_stored_before_the_move_still_reads() -> None:
    # As `web/sessions.py::DatabaseSessionStore` wrote it: Django's signed JSON, salted with
    # the class name, under the hashed key.
    data = signing.dumps(
        {"aidial_seen": 1},
        salt="django.contrib.sessions.DatabaseSessionStore",
        serializer=JSONSerializer,
        compress=True,
    )
    Session.objects.create(
        session_key=stored_key(COOKIE),
        session_data=data,
        expire_date=timezone.now() + timedelta(hours=1),
    )
    assert db.SessionStore(COOKIE).get("aidial_seen") == 1


def test_a_cached_session_stored_before_the_move_still_reads() -> None:
    # As `web/sessions.py::CacheSessionStore` wrote it: the plain dict, under Django's prefix
    # and the hashed key.
    caches[settings.SESSION_CACHE_ALIAS].set(
        KEY_PREFIX + stored_key(COOKIE), {"aidial_seen": 2}, 60
    )
    assert cache.SessionStore(COOKIE).get("aidial_seen") == 2
