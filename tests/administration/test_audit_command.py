"""`aidial-portal audit export|purge`."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from aidial_portal.administration.retention import DEFAULT_RETENTION_DAYS, check_retention
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.audit.recording import record

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_writes_json_lines_in_the_range(make_account):
    account = make_account()
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    record(EventTag.SignIn.SUCCEEDED, account=account, at=t0 - timedelta(seconds=1))
    record(
        EventTag.Session.GATE_DENIED,
        account=account,
        reason="not_enrolled",
        at=t0,
        details={"method": "get"},
    )
    record(EventTag.SignIn.SIGNED_OUT, account=account, at=t0 + timedelta(hours=1))
    out, _ = run("export", "--since", "2026-03-01T00:00:00Z", "--until", "2026-03-01T01:00:00")
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == [
        {
            "id": lines[0]["id"],
            "at": "2026-03-01T00:00:00+00:00",
            "event_type": "gate_denied",
            "account_id": account.pk,
            "session_hash": None,
            "reason": "not_enrolled",
            "details": {"method": "get"},
        }
    ]
    assert SecurityEvent.objects.filter(event_type="audit_exported").count() == 1


def test_export_refuses_a_bad_date():
    with pytest.raises(CommandError, match="ISO 8601"):
        run("export", "--since", "last tuesday")


def test_purge_refuses_a_date_inside_the_retention_period():
    recent = (timezone.now() - timedelta(days=DEFAULT_RETENTION_DAYS - 1)).isoformat()
    with pytest.raises(CommandError, match="inside the retention period of 400 days"):
        run("purge", "--before", recent)
    assert not SecurityEvent.objects.filter(event_type="audit_purged").exists()


def test_purge_deletes_old_events_and_records_that_it_ran(make_account):
    account = make_account()
    now = timezone.now()
    old = [
        record(EventTag.SignIn.SUCCEEDED, account=account, at=now - timedelta(days=500 + n))
        for n in range(3)
    ]
    kept = record(EventTag.SignIn.SUCCEEDED, account=account, at=now - timedelta(days=100))
    before = (now - timedelta(days=450)).isoformat()
    _, err = run("purge", "--before", before, "--dry-run")
    assert "3 events" in err
    assert SecurityEvent.objects.count() == 4
    run("purge", "--before", before)
    remaining = set(SecurityEvent.objects.values_list("pk", flat=True))
    assert kept.pk in remaining
    assert not remaining & {event.pk for event in old}
    purged = SecurityEvent.objects.get(event_type="audit_purged")
    assert purged.reason == "retention"
    assert purged.details["deleted"] == 3
    assert purged.details["retention_days"] == DEFAULT_RETENTION_DAYS


def test_retention_comes_from_the_setting(settings):
    settings.AIDIAL_AUDIT_RETENTION_DAYS = 60
    run("purge", "--before", (timezone.now() - timedelta(days=61)).isoformat())
    settings.AIDIAL_AUDIT_RETENTION_DAYS = "nonsense"
    assert [error.id for error in check_retention()] == ["aidial.E901"]
    settings.AIDIAL_AUDIT_RETENTION_DAYS = 7
    assert [error.id for error in check_retention()] == ["aidial.E901"]
