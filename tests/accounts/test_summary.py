"""The signed-in pages' one read of their account (aidial_portal/accounts/summary.py): the
stored values as the ORM would give them, read fresh on every call."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aidial_portal.accounts import summary
from aidial_portal.accounts.models import Account
from aidial_portal.mfa.lifecycle import PendingReason

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 11, 3, 9, 30, 15, 123456, tzinfo=UTC)


def test_it_gives_what_the_orm_gives(make_account):
    account = make_account(
        display_name="Ana Ng",
        email="ana@example.test",
        ever_enrolled=True,
        enrolled_observed=False,
        enrolment_observed_at=WHEN,
        ack_pending=PendingReason.REGENERATION.value,
        ack_pending_since=WHEN,
        reminder_since=WHEN,
    )
    read = summary.read(account.pk)
    fresh = Account.objects.get(pk=account.pk)
    assert (read.display_name, read.login_name, read.email) == (
        "Ana Ng",
        fresh.login_name,
        "ana@example.test",
    )
    assert read.markers == fresh.markers()
    assert read.markers.reminder_since == WHEN  # an aware datetime on every backend
    assert read.markers.ack_pending is PendingReason.REGENERATION
    assert read.markers.enrolled_observed is False


def test_a_change_made_elsewhere_shows_on_the_next_read_with_one_query_each(make_account):
    account = make_account()
    assert summary.read(account.pk).markers.acknowledged_at is None
    Account.objects.filter(pk=account.pk).update(acknowledged_at=WHEN, display_name="Renamed")
    with CaptureQueriesContext(connection) as queries:
        read = summary.read(account.pk)
    assert read.markers.acknowledged_at == WHEN
    assert read.display_name == "Renamed"
    assert len(queries) == 1


def test_no_account_is_the_orms_does_not_exist(make_account):
    account = make_account()
    with pytest.raises(Account.DoesNotExist):
        summary.read(account.pk + 1000)
