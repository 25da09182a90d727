"""Security event types: namespaced in code, the same flat tags in the table as ever."""

import pytest
from django.utils import timezone

from aidial_portal.audit.events import ALL_EVENT_TYPES, LIFECYCLE_EVENTS, EventTag
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.mfa.lifecycle import Change

# The tags already stored in deployed audit logs: they must keep their meaning.
STORED_TAGS = {
    "sign_in_succeeded",
    "sign_in_rejected",
    "gate_denied",
    "refresh_started",
    "refresh_completed",
    "refresh_refused",
    "evidence_unavailable",
    "enrolment_observed",
    "unenrolment_observed",
    "re_enablement_observed",
    "recovery_code_sign_in",
    "recovery_codes_acknowledged",
    "regeneration_declared",
    "management_launched",
    "management_refused",
    "signed_out",
    "support_request_sent",
    "support_request_refused",
    "report_exported",
    "audit_exported",
    "audit_purged",
}


def test_every_tag_already_in_audit_logs_is_still_a_type_and_no_two_areas_share_one():
    values = [event.value for event in ALL_EVENT_TYPES]
    assert len(values) == len(set(values))
    assert set(values) >= STORED_TAGS


@pytest.mark.parametrize("change", list(Change))
def test_every_lifecycle_change_is_recorded_under_its_own_tag(change):
    assert LIFECYCLE_EVENTS[change].value == change.value


@pytest.mark.django_db
def test_an_unknown_event_type_is_refused_and_nothing_is_written():
    with pytest.raises(ValueError, match="unknown security event type"):
        SecurityEvent(event_type="made_up", at=timezone.now()).save()
    assert not SecurityEvent.objects.exists()


@pytest.mark.django_db
def test_a_namespaced_type_is_stored_as_its_flat_tag():
    SecurityEvent(event_type=EventTag.Support.REQUEST_SENT, at=timezone.now()).save()
    assert SecurityEvent.objects.get().event_type == "support_request_sent"
