from datetime import UTC, datetime, timedelta

import pytest

from aidial_portal.mfa.compliance import Reason, evaluate, status_as_if_required, within_step_up
from aidial_portal.mfa.evidence import Evidence, Factor, Source, unavailable
from aidial_portal.mfa.policy import Requirement

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def evidence(*, enrolled=True, verified=None, source=Source.SESSION):
    return Evidence(
        source=source,
        totp_enrolled=enrolled,
        recovery_codes_present=True,
        verified=verified or {},
    )


def test_mandatory_role_with_totp_in_this_sign_in_is_compliant():
    result = evaluate(Requirement.REQUIRED, evidence(verified={Factor.TOTP: NOW}), NOW)
    assert result.compliant
    assert result.reason is None


def test_mandatory_role_with_recovery_code_in_this_sign_in_is_compliant():
    result = evaluate(Requirement.REQUIRED, evidence(verified={Factor.RECOVERY_CODE: NOW}), NOW)
    assert result.compliant


def test_mandatory_role_without_enrolment_is_not_compliant():
    result = evaluate(Requirement.REQUIRED, evidence(enrolled=False), NOW)
    assert (result.compliant, result.reason) == (False, Reason.NOT_ENROLLED)


def test_unknown_enrolment_counts_as_not_enrolled():
    result = evaluate(
        Requirement.REQUIRED, evidence(enrolled=None, verified={Factor.TOTP: NOW}), NOW
    )
    assert result.reason is Reason.NOT_ENROLLED


def test_enrolled_but_this_sign_in_skipped_mfa_is_not_compliant():
    result = evaluate(Requirement.REQUIRED, evidence(verified={}), NOW)
    assert result.reason is Reason.CHALLENGE_NOT_SATISFIED


def test_a_check_older_than_max_age_is_stale():
    old = NOW - timedelta(seconds=43_201)
    result = evaluate(Requirement.REQUIRED, evidence(verified={Factor.TOTP: old}), NOW)
    assert result.reason is Reason.MFA_STALE


def test_a_check_exactly_at_max_age_is_still_fresh():
    edge = NOW - timedelta(seconds=600)
    assert evaluate(
        Requirement.REQUIRED, evidence(verified={Factor.TOTP: edge}), NOW, max_age=600
    ).compliant


def test_unavailable_evidence_fails_closed():
    result = evaluate(Requirement.REQUIRED, unavailable("provider_timeout"), NOW)
    assert result.reason is Reason.EVIDENCE_UNAVAILABLE


@pytest.mark.parametrize(
    "seen", [evidence(enrolled=False), unavailable("provider_error"), evidence(verified={})]
)
def test_optional_roles_are_never_blocked(seen):
    assert evaluate(Requirement.OPTIONAL, seen, NOW).compliant


def test_amr_otp_counts_as_a_recognised_factor():
    seen = evidence(verified={Factor.OTP: NOW}, source=Source.AMR)
    assert evaluate(Requirement.REQUIRED, seen, NOW).compliant


def test_step_up_window():
    assert within_step_up(evidence(verified={Factor.TOTP: NOW - timedelta(seconds=900)}), NOW, 900)
    assert not within_step_up(
        evidence(verified={Factor.TOTP: NOW - timedelta(seconds=901)}), NOW, 900
    )
    assert not within_step_up(evidence(verified={}), NOW, 900)


def test_the_report_status_treats_an_optional_role_as_if_mfa_were_required():
    assert status_as_if_required(evidence(enrolled=False), NOW, max_age=60) == "not_enrolled"
    assert status_as_if_required(evidence(), NOW, max_age=60) == "challenge_not_satisfied"
    fresh = evidence(verified={Factor.TOTP: NOW})
    assert status_as_if_required(fresh, NOW, max_age=60) == "compliant"
