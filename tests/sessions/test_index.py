"""The binding written at sign-in (sessions/index.py `bind`), one statement whether new or not."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aidial_portal.sessions import index
from aidial_portal.sessions.models import SessionBinding

pytestmark = pytest.mark.django_db


def test_binding_the_same_session_again_keeps_one_row_with_the_latest_values():
    now = timezone.now()
    index.bind("key-1", sid="sid-1", subject="user-1", account_id=1, now=now, max_age=60)
    later = now + timedelta(minutes=5)
    with CaptureQueriesContext(connection) as queries:
        index.bind("key-1", sid="sid-2", subject="user-1", account_id=1, now=later, max_age=60)
    assert len(queries) == 1
    (row,) = SessionBinding.objects.all()
    assert row.stored_key == index.stored_key("key-1")
    assert (row.sid, row.created_at, row.expires_at) == (
        "sid-2",
        later,
        later + timedelta(seconds=60),
    )


def test_a_binding_without_sid_is_found_by_subject_only():
    index.bind("key-2", sid=None, subject="user-2", account_id=None, now=timezone.now(), max_age=60)
    (row,) = SessionBinding.objects.filter(subject="user-2")
    assert row.sid == ""
    assert row.account_id is None
