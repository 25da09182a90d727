"""The one next step a person is asked to take, whatever combination of things is pending.

Settings and the dashboard show at most one prompt, with one primary action and at most one
secondary. Pending things are answered in the order that unblocks the person soonest: first
what the role's policy needs for this session (set up an app, pass the challenge again), then
the reminder after a recovery-code sign-in (unless the code set awaiting confirmation came after
it, when that one confirmation answers both), then the confirmation of a new code set, and last
the recommendation for roles where MFA is optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aidial_portal.mfa.compliance import Reason
from aidial_portal.mfa.lifecycle import Markers
from aidial_portal.mfa.policy import Requirement


class Prompt(StrEnum):
    SET_UP = "set_up"  # the role needs MFA and there is no authenticator app
    CHECK_AGAIN = "check_again"  # the app exists; this sign-in did not pass (or no longer counts)
    CONFIRM_STORED = "confirm_stored"  # a new code set (enrolment, re-enablement, regeneration)
    AFTER_RECOVERY_CODE = "after_recovery_code"  # a recovery code was used: review or regenerate
    REPLACE_APP = "replace_app"  # a recovery code was used and the app is gone (optional role)
    RECOMMEND_SET_UP = "recommend_set_up"  # optional role without an app


class Action(StrEnum):
    """What a button does; the template gives each its documented label."""

    OPEN_SETUP = "open_setup"  # Open MFA setup
    REFRESH = "refresh"  # Refresh security status
    ACKNOWLEDGE = "acknowledge"  # I have stored my current recovery codes
    REVIEW_AT_PROVIDER = "review_at_provider"  # Review or regenerate recovery codes
    ANSWER_REMINDER = "answer_reminder"  # tell us: reviewed, or regenerated and stored


@dataclass(frozen=True)
class NextStep:
    prompt: Prompt
    primary: Action
    secondary: Action | None = None


@dataclass(frozen=True)
class Situation:
    """What the next step depends on, all of it already known to the page."""

    requirement: Requirement | None
    compliant: bool
    reason: Reason | None
    enrolled: bool | None  # the authenticator app, as last seen; None when the provider can't say
    markers: Markers
    setup_available: bool  # a trusted page for Open MFA setup exists
    review_available: bool  # a trusted page for the provider management link exists


def next_step(situation: Situation) -> NextStep | None:  # noqa: PLR0911 - one return per rule
    """The single prompt to show, or None when nothing is asked of the person."""
    if situation.requirement is None:
        return None
    if situation.requirement is Requirement.REQUIRED and not situation.compliant:
        return _to_comply(situation)
    markers = situation.markers
    if markers.reminder_active and not markers.pending_answers_reminder:
        if situation.enrolled is False:
            return _set_up(Prompt.REPLACE_APP, situation)
        review = Action.REVIEW_AT_PROVIDER if situation.review_available else None
        return NextStep(Prompt.AFTER_RECOVERY_CODE, Action.ANSWER_REMINDER, review)
    if markers.ack_pending is not None:
        return NextStep(Prompt.CONFIRM_STORED, Action.ACKNOWLEDGE)
    if situation.requirement is Requirement.OPTIONAL and situation.enrolled is False:
        return _set_up(Prompt.RECOMMEND_SET_UP, situation)
    return None


def _to_comply(situation: Situation) -> NextStep:
    # No app (or one removed at the provider since this sign-in): set one up; else check again.
    if situation.reason is Reason.NOT_ENROLLED or situation.enrolled is False:
        return _set_up(Prompt.SET_UP, situation)
    return NextStep(Prompt.CHECK_AGAIN, Action.REFRESH)


def _set_up(prompt: Prompt, situation: Situation) -> NextStep:
    """Open MFA setup when a trusted page exists; Refresh security status once it is done."""
    if situation.setup_available:
        return NextStep(prompt, Action.OPEN_SETUP, Action.REFRESH)
    return NextStep(prompt, Action.REFRESH)
