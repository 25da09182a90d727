"""The one next step Settings and the dashboard ask for, in each situation a person meets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from aidial_portal.mfa.compliance import Reason
from aidial_portal.mfa.lifecycle import Markers, PendingReason
from aidial_portal.mfa.next_step import Action, NextStep, Prompt, Situation, next_step
from aidial_portal.mfa.policy import Requirement

AT = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
COMPLIANT_MANDATORY = Situation(
    requirement=Requirement.REQUIRED,
    compliant=True,
    reason=None,
    enrolled=True,
    markers=Markers(ever_enrolled=True, enrolled_observed=True),
    setup_available=True,
    review_available=True,
)
PENDING = Markers(
    ever_enrolled=True,
    enrolled_observed=True,
    ack_pending=PendingReason.ENROLMENT,
    ack_pending_since=AT,
)
REMINDED = Markers(ever_enrolled=True, enrolled_observed=True, reminder_since=AT)


def test_a_compliant_person_with_nothing_pending_is_asked_nothing():
    assert next_step(COMPLIANT_MANDATORY) is None


def test_a_person_without_a_portal_role_is_asked_nothing():
    assert next_step(replace(COMPLIANT_MANDATORY, requirement=None, compliant=False)) is None


def test_a_mandatory_role_without_an_app_is_asked_to_set_one_up_then_refresh():
    situation = replace(
        COMPLIANT_MANDATORY,
        compliant=False,
        reason=Reason.NOT_ENROLLED,
        enrolled=False,
        markers=replace(REMINDED, enrolled_observed=False),
    )
    assert next_step(situation) == NextStep(Prompt.SET_UP, Action.OPEN_SETUP, Action.REFRESH)


def test_without_a_trusted_setup_page_only_refresh_is_offered():
    situation = replace(
        COMPLIANT_MANDATORY, compliant=False, reason=Reason.NOT_ENROLLED, setup_available=False
    )
    assert next_step(situation) == NextStep(Prompt.SET_UP, Action.REFRESH)


@pytest.mark.parametrize(
    "reason",
    [Reason.CHALLENGE_NOT_SATISFIED, Reason.MFA_STALE, Reason.EVIDENCE_UNAVAILABLE],
)
def test_an_enrolled_person_whose_sign_in_does_not_count_checks_again(reason):
    # Even with a confirmation pending: the policy comes first, the confirmation waits.
    situation = replace(COMPLIANT_MANDATORY, compliant=False, reason=reason, markers=PENDING)
    assert next_step(situation) == NextStep(Prompt.CHECK_AGAIN, Action.REFRESH)


def test_a_code_set_issued_after_the_recovery_code_sign_in_asks_one_confirmation_for_both():
    later = replace(PENDING, reminder_since=AT - timedelta(minutes=5))
    assert next_step(replace(COMPLIANT_MANDATORY, markers=later)) == NextStep(
        Prompt.CONFIRM_STORED, Action.ACKNOWLEDGE
    )


def test_the_reminder_comes_before_confirming_the_set_the_used_code_belonged_to():
    same_set = replace(PENDING, reminder_since=AT)
    assert next_step(replace(COMPLIANT_MANDATORY, markers=same_set)).prompt is (
        Prompt.AFTER_RECOVERY_CODE
    )


def test_a_confirmation_alone_is_asked_for():
    assert next_step(replace(COMPLIANT_MANDATORY, markers=PENDING)) == NextStep(
        Prompt.CONFIRM_STORED, Action.ACKNOWLEDGE
    )


def test_after_a_recovery_code_sign_in_the_person_answers_with_the_provider_link_beside():
    assert next_step(replace(COMPLIANT_MANDATORY, markers=REMINDED)) == NextStep(
        Prompt.AFTER_RECOVERY_CODE, Action.ANSWER_REMINDER, Action.REVIEW_AT_PROVIDER
    )


def test_without_a_trusted_provider_link_the_reminder_has_its_answer_only():
    situation = replace(COMPLIANT_MANDATORY, markers=REMINDED, review_available=False)
    assert next_step(situation) == NextStep(Prompt.AFTER_RECOVERY_CODE, Action.ANSWER_REMINDER)


def test_an_optional_role_whose_app_is_gone_after_a_recovery_code_replaces_it():
    situation = replace(
        COMPLIANT_MANDATORY,
        requirement=Requirement.OPTIONAL,
        enrolled=False,
        markers=replace(REMINDED, enrolled_observed=False),
    )
    assert next_step(situation) == NextStep(Prompt.REPLACE_APP, Action.OPEN_SETUP, Action.REFRESH)


def test_an_optional_role_without_an_app_is_recommended_one():
    situation = replace(
        COMPLIANT_MANDATORY,
        requirement=Requirement.OPTIONAL,
        enrolled=False,
        markers=Markers(),
    )
    assert next_step(situation) == NextStep(
        Prompt.RECOMMEND_SET_UP, Action.OPEN_SETUP, Action.REFRESH
    )


def test_an_optional_role_whose_enrolment_is_unknown_is_not_told_to_set_up():
    situation = replace(
        COMPLIANT_MANDATORY, requirement=Requirement.OPTIONAL, enrolled=None, markers=Markers()
    )
    assert next_step(situation) is None
