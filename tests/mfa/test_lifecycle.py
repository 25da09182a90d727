from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aidial_portal.mfa.lifecycle import (
    Acknowledged,
    Change,
    ManagementLaunched,
    Markers,
    Observed,
    PendingReason,
    RegenerationDeclared,
    advance,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)

NEW = Markers()
ENROLLED = Markers(ever_enrolled=True, enrolled_observed=True, enrolment_observed_at=T0)
PENDING = replace(ENROLLED, ack_pending=PendingReason.ENROLMENT, ack_pending_since=T0)
UNENROLLED_BEFORE = Markers(ever_enrolled=True, enrolled_observed=False)
REMINDED = replace(ENROLLED, reminder_since=T0)

# (name, markers before, input, expected pending, expected reminder?, expected events)
CASES = [
    ("first sign-in without MFA", NEW, Observed(T1, enrolled=False), None, False, ()),
    (
        "first observed enrolment asks for acknowledgement",
        NEW,
        Observed(T1, enrolled=True),
        PendingReason.ENROLMENT,
        False,
        (Change.ENROLMENT_OBSERVED,),
    ),
    (
        "enrolment seen again changes nothing",
        ENROLLED,
        Observed(T1, enrolled=True),
        None,
        False,
        (),
    ),
    (
        "TOTP gone then back is re-enablement",
        UNENROLLED_BEFORE,
        Observed(T1, enrolled=True),
        PendingReason.RE_ENABLEMENT,
        False,
        (Change.RE_ENABLEMENT_OBSERVED,),
    ),
    (
        "removal is observed and clears a pending acknowledgement",
        PENDING,
        Observed(T1, enrolled=False),
        None,
        False,
        (Change.UNENROLMENT_OBSERVED,),
    ),
    (
        "unknown enrolment changes nothing",
        PENDING,
        Observed(T1, enrolled=None),
        PendingReason.ENROLMENT,
        False,
        (),
    ),
    (
        "recovery-code sign-in starts a reminder",
        ENROLLED,
        Observed(T1, enrolled=True, used_recovery_code=True),
        None,
        True,
        (Change.RECOVERY_CODE_SIGN_IN,),
    ),
    (
        "a second recovery-code sign-in keeps the first reminder time",
        REMINDED,
        Observed(T1, enrolled=True, used_recovery_code=True),
        None,
        True,
        (Change.RECOVERY_CODE_SIGN_IN,),
    ),
    (
        "acknowledging clears the prompt",
        PENDING,
        Acknowledged(T1),
        None,
        False,
        (Change.RECOVERY_CODES_ACKNOWLEDGED,),
    ),
    ("acknowledging twice records once", ENROLLED, Acknowledged(T1), None, False, ()),
    (
        "declaring regeneration ends the reminder and asks again",
        REMINDED,
        RegenerationDeclared(T1),
        PendingReason.REGENERATION,
        False,
        (Change.REGENERATION_DECLARED,),
    ),
    (
        "declaring regeneration without a reminder asks again",
        ENROLLED,
        RegenerationDeclared(T1),
        PendingReason.REGENERATION,
        False,
        (Change.REGENERATION_DECLARED,),
    ),
    (
        "declaring twice records once",
        replace(ENROLLED, ack_pending=PendingReason.REGENERATION, ack_pending_since=T0),
        RegenerationDeclared(T1),
        PendingReason.REGENERATION,
        False,
        (),
    ),
    ("declaring without enrolment does nothing", NEW, RegenerationDeclared(T1), None, False, ()),
    (
        "management launch is recorded",
        ENROLLED,
        ManagementLaunched(T1),
        None,
        False,
        (Change.MANAGEMENT_LAUNCHED,),
    ),
]


@pytest.mark.parametrize(
    ("before", "step", "pending", "reminder", "events"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_lifecycle_transitions(before, step, pending, reminder, events):
    after = advance(before, step)
    assert after.markers.ack_pending is pending
    assert after.markers.reminder_active is reminder
    assert after.events == events


def test_reminder_survives_until_regeneration_is_declared():
    markers = advance(ENROLLED, Observed(T0, enrolled=True, used_recovery_code=True)).markers
    markers = advance(markers, Observed(T1, enrolled=True)).markers  # a later TOTP sign-in
    assert markers.reminder_active
    markers = advance(markers, RegenerationDeclared(T1)).markers
    assert not markers.reminder_active


def test_acknowledgement_records_its_time_and_first_enrolment_its_observation():
    markers = advance(NEW, Observed(T0, enrolled=True)).markers
    assert markers.enrolment_observed_at == T0
    assert markers.ever_enrolled
    markers = advance(markers, Acknowledged(T1)).markers
    assert markers.acknowledged_at == T1
    assert markers.ack_pending_since is None


def test_markers_hold_only_times_kinds_and_flags():
    fields = Markers.__dataclass_fields__
    for name, field in fields.items():
        assert str(field.type) in {
            "bool",
            "bool | None",
            "datetime | None",
            "PendingReason | None",
        }, name
