"""Recovery-code lifecycle of one account, as a pure state machine over non-secret markers.

The markers record what the portal observed and when, what is pending, and what the person
declared or launched. They never hold a code, a seed or a token: the provider keeps those.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

# A declaration repeated within this window is the same declaration (a double submit).
REPEAT_WINDOW = timedelta(minutes=1)


class PendingReason(StrEnum):
    """Why Settings asks the person to confirm they stored their current recovery codes."""

    ENROLMENT = "enrolment"
    RE_ENABLEMENT = "re_enablement"
    REGENERATION = "regeneration"


class Change(StrEnum):
    """What a transition changed, for the audit layer to record (it names its own events)."""

    ENROLMENT_OBSERVED = "enrolment_observed"
    UNENROLMENT_OBSERVED = "unenrolment_observed"
    RE_ENABLEMENT_OBSERVED = "re_enablement_observed"
    RECOVERY_CODE_SIGN_IN = "recovery_code_sign_in"
    RECOVERY_CODES_ACKNOWLEDGED = "recovery_codes_acknowledged"
    RECOVERY_CODES_REVIEWED = "recovery_codes_reviewed"
    REGENERATION_DECLARED = "regeneration_declared"
    SETUP_LAUNCHED = "setup_launched"
    REVIEW_LAUNCHED = "review_launched"
    MANAGEMENT_LAUNCHED = "management_launched"


@dataclass(frozen=True)
class Markers:
    ever_enrolled: bool = False
    enrolled_observed: bool | None = None
    enrolment_observed_at: datetime | None = None
    ack_pending: PendingReason | None = None
    ack_pending_since: datetime | None = None
    acknowledged_at: datetime | None = None
    reminder_since: datetime | None = None
    regeneration_declared_at: datetime | None = None
    management_launched_at: datetime | None = None

    @property
    def reminder_active(self) -> bool:
        return self.reminder_since is not None

    @property
    def pending_answers_reminder(self) -> bool:
        """The code set awaiting confirmation was issued after the recovery-code sign-in (the
        person set up their authenticator again): confirming it also ends the reminder."""
        return (
            self.ack_pending is not None
            and self.reminder_since is not None
            and self.ack_pending_since is not None
            and self.ack_pending_since > self.reminder_since
        )


# Inputs to the machine -------------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """What a sign-in or refresh told us. `enrolled` is None when the provider could not say."""

    at: datetime
    enrolled: bool | None
    used_recovery_code: bool = False


@dataclass(frozen=True)
class Acknowledged:
    at: datetime


@dataclass(frozen=True)
class CodesReviewed:
    """The person reviewed their remaining recovery codes at the provider, after a reminder."""

    at: datetime


@dataclass(frozen=True)
class RegenerationDeclared:
    """The person generated a new code set at the provider. With `stored`, they also
    confirm they stored it (one step); without, Settings asks for that confirmation next."""

    at: datetime
    stored: bool = False


@dataclass(frozen=True)
class SetupLaunched:
    """Open MFA setup: the person left for the provider's security page to enrol."""

    at: datetime


@dataclass(frozen=True)
class ReviewLaunched:
    """The trusted provider management link: review or regenerate codes, replace the app."""

    at: datetime


@dataclass(frozen=True)
class ManagementLaunched:
    at: datetime


Input = (
    Observed
    | Acknowledged
    | CodesReviewed
    | RegenerationDeclared
    | SetupLaunched
    | ReviewLaunched
    | ManagementLaunched
)


@dataclass(frozen=True)
class Transition:
    markers: Markers
    events: tuple[Change, ...]


def advance(markers: Markers, step: Input) -> Transition:  # noqa: PLR0911 - one return per rule
    """Apply one input. Repeating an input that has nothing left to do changes nothing, so two
    identical POSTs leave one result."""
    match step:
        case Observed():
            return _observe(markers, step)
        case Acknowledged(at=at):
            if markers.ack_pending is None:
                return Transition(markers, ())
            acknowledged = replace(
                markers,
                ack_pending=None,
                ack_pending_since=None,
                acknowledged_at=at,
                reminder_since=None if markers.pending_answers_reminder else markers.reminder_since,
            )
            return Transition(acknowledged, (Change.RECOVERY_CODES_ACKNOWLEDGED,))
        case CodesReviewed():
            if not markers.reminder_active or markers.enrolled_observed is False:
                return Transition(markers, ())
            return Transition(
                replace(markers, reminder_since=None), (Change.RECOVERY_CODES_REVIEWED,)
            )
        case RegenerationDeclared():
            return _declare_regeneration(markers, step)
        case SetupLaunched():
            return Transition(markers, (Change.SETUP_LAUNCHED,))
        case ReviewLaunched():
            return Transition(markers, (Change.REVIEW_LAUNCHED,))
        case ManagementLaunched(at=at):
            launched = replace(markers, management_launched_at=at)
            return Transition(launched, (Change.MANAGEMENT_LAUNCHED,))
    raise TypeError(f"unknown lifecycle input {type(step).__name__}")  # pragma: no cover


def _declare_regeneration(markers: Markers, declared: RegenerationDeclared) -> Transition:
    # Unknown enrolment (Login V1 without the API) may declare; a known absence may not.
    if markers.enrolled_observed is False:
        return Transition(markers, ())
    at = declared.at
    if declared.stored:
        last = markers.regeneration_declared_at
        if (
            last is not None
            and markers.acknowledged_at == last
            and markers.ack_pending is None
            and not markers.reminder_active
            and at - last < REPEAT_WINDOW
        ):
            return Transition(markers, ())
        stored = replace(
            markers,
            ack_pending=None,
            ack_pending_since=None,
            acknowledged_at=at,
            reminder_since=None,
            regeneration_declared_at=at,
        )
        return Transition(
            stored, (Change.REGENERATION_DECLARED, Change.RECOVERY_CODES_ACKNOWLEDGED)
        )
    if markers.ack_pending is PendingReason.REGENERATION and not markers.reminder_active:
        return Transition(markers, ())
    pending = replace(
        markers,
        ack_pending=PendingReason.REGENERATION,
        ack_pending_since=at,
        reminder_since=None,
        regeneration_declared_at=at,
    )
    return Transition(pending, (Change.REGENERATION_DECLARED,))


def _observe(markers: Markers, seen: Observed) -> Transition:
    events: list[Change] = []
    state = markers
    if seen.enrolled is True and markers.enrolled_observed is not True:
        reason = PendingReason.RE_ENABLEMENT if markers.ever_enrolled else PendingReason.ENROLMENT
        events.append(
            Change.RE_ENABLEMENT_OBSERVED
            if reason is PendingReason.RE_ENABLEMENT
            else Change.ENROLMENT_OBSERVED
        )
        state = replace(
            state,
            ever_enrolled=True,
            enrolled_observed=True,
            enrolment_observed_at=seen.at,
            ack_pending=reason,
            ack_pending_since=seen.at,
        )
    elif seen.enrolled is False and markers.enrolled_observed is not False:
        if markers.enrolled_observed is True:
            events.append(Change.UNENROLMENT_OBSERVED)
        # Without an authenticator there is no current code set to confirm.
        state = replace(
            state,
            enrolled_observed=False,
            enrolment_observed_at=seen.at,
            ack_pending=None,
            ack_pending_since=None,
        )
    if seen.used_recovery_code:
        events.append(Change.RECOVERY_CODE_SIGN_IN)
        # A code of a set first seen in this very sign-in restarts the reminder, so that
        # confirming that set does not also answer it.
        if not state.reminder_active or state.ack_pending_since == seen.at:
            state = replace(state, reminder_since=seen.at)
    return Transition(state, tuple(events))
