from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aidial_portal.mfa.lifecycle import (
    Acknowledged,
    Change,
    CodesReviewed,
    ManagementLaunched,
    Markers,
    Observed,
    PendingReason,
    RegenerationDeclared,
    ReviewLaunched,
    SetupLaunched,
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
    (
        "declaring after the authenticator was seen removed does nothing",
        UNENROLLED_BEFORE,
        RegenerationDeclared(T1),
        None,
        False,
        (),
    ),
    (
        "declaring with enrolment unknown (Login V1) asks to confirm",
        NEW,
        RegenerationDeclared(T1),
        PendingReason.REGENERATION,
        False,
        (Change.REGENERATION_DECLARED,),
    ),
    (
        "regenerated and stored ends the reminder in one step",
        REMINDED,
        RegenerationDeclared(T1, stored=True),
        None,
        False,
        (Change.REGENERATION_DECLARED, Change.RECOVERY_CODES_ACKNOWLEDGED),
    ),
    (
        "regenerated and stored, submitted twice, records once",
        replace(ENROLLED, regeneration_declared_at=T1, acknowledged_at=T1),
        RegenerationDeclared(T1 + timedelta(seconds=2), stored=True),
        None,
        False,
        (),
    ),
    (
        "regenerated and stored again later is a new declaration",
        replace(ENROLLED, regeneration_declared_at=T0, acknowledged_at=T0),
        RegenerationDeclared(T1, stored=True),
        None,
        False,
        (Change.REGENERATION_DECLARED, Change.RECOVERY_CODES_ACKNOWLEDGED),
    ),
    (
        "regenerated and stored clears an older pending confirmation",
        PENDING,
        RegenerationDeclared(T1, stored=True),
        None,
        False,
        (Change.REGENERATION_DECLARED, Change.RECOVERY_CODES_ACKNOWLEDGED),
    ),
    (
        "reviewing the codes ends the reminder",
        REMINDED,
        CodesReviewed(T1),
        None,
        False,
        (Change.RECOVERY_CODES_REVIEWED,),
    ),
    ("reviewing without a reminder records nothing", ENROLLED, CodesReviewed(T1), None, False, ()),
    (
        "reviewing with no authenticator keeps the reminder",
        replace(UNENROLLED_BEFORE, reminder_since=T0),
        CodesReviewed(T1),
        None,
        True,
        (),
    ),
    (
        "removal keeps the reminder until a new authenticator is set up",
        REMINDED,
        Observed(T1, enrolled=False),
        None,
        True,
        (Change.UNENROLMENT_OBSERVED,),
    ),
    (
        "a new authenticator after a recovery-code sign-in asks one confirmation",
        replace(UNENROLLED_BEFORE, reminder_since=T0),
        Observed(T1, enrolled=True),
        PendingReason.RE_ENABLEMENT,
        True,
        (Change.RE_ENABLEMENT_OBSERVED,),
    ),
    (
        "confirming a set issued after the recovery-code sign-in ends the reminder too",
        replace(REMINDED, ack_pending=PendingReason.RE_ENABLEMENT, ack_pending_since=T1),
        Acknowledged(T1 + timedelta(minutes=1)),
        None,
        False,
        (Change.RECOVERY_CODES_ACKNOWLEDGED,),
    ),
    (
        "confirming a set older than the recovery-code sign-in keeps the reminder",
        replace(PENDING, reminder_since=T1),
        Acknowledged(T1 + timedelta(minutes=1)),
        None,
        True,
        (Change.RECOVERY_CODES_ACKNOWLEDGED,),
    ),
    (
        "opening MFA setup is recorded",
        NEW,
        SetupLaunched(T1),
        None,
        False,
        (Change.SETUP_LAUNCHED,),
    ),
    (
        "opening the provider management link is recorded",
        REMINDED,
        ReviewLaunched(T1),
        None,
        True,
        (Change.REVIEW_LAUNCHED,),
    ),
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


def test_lost_authenticator_journey_ends_with_one_confirmation():
    """Recovery-code sign-in, authenticator removed and added again, refresh: one click."""
    markers = advance(ENROLLED, Observed(T0, enrolled=True, used_recovery_code=True)).markers
    markers = advance(markers, Observed(T1, enrolled=False)).markers
    markers = advance(markers, Observed(T1 + timedelta(minutes=5), enrolled=True)).markers
    assert markers.pending_answers_reminder
    after = advance(markers, Acknowledged(T1 + timedelta(minutes=6))).markers
    assert after.ack_pending is None
    assert not after.reminder_active


def test_a_code_of_a_set_first_seen_in_the_same_sign_in_keeps_the_reminder():
    markers = replace(UNENROLLED_BEFORE, reminder_since=T0)
    markers = advance(markers, Observed(T1, enrolled=True, used_recovery_code=True)).markers
    assert markers.reminder_since == T1
    assert not markers.pending_answers_reminder
    assert advance(markers, Acknowledged(T1 + timedelta(minutes=1))).markers.reminder_active
