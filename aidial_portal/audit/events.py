"""Security event types, namespaced by area (as warehouse's `EventTag.Account.LoginSuccess`).

The audit log stores each type's value, a flat tag such as "sign_in_succeeded": values never
change, so old rows keep their meaning. The column has no `choices`; `is_event_type` guards
writes instead, so adding a type here needs no migration.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from aidial_portal.mfa.lifecycle import Change


class EventTag:
    """Every security event type, by area."""

    class SignIn(StrEnum):
        SUCCEEDED = "sign_in_succeeded"
        REJECTED = "sign_in_rejected"
        SIGNED_OUT = "signed_out"

    class Session(StrEnum):
        GATE_DENIED = "gate_denied"
        REFRESH_STARTED = "refresh_started"
        REFRESH_COMPLETED = "refresh_completed"
        REFRESH_REFUSED = "refresh_refused"
        EXPIRED = "session_expired"
        BACKCHANNEL_LOGOUT = "backchannel_logout"
        ENDED_AT_PROVIDER = "session_ended_at_provider"
        # An Actions v2 event from Zitadel ended or changed portal sessions.
        PROVIDER_EVENT = "provider_event"

    class Mfa(StrEnum):
        EVIDENCE_UNAVAILABLE = "evidence_unavailable"
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
        MANAGEMENT_REFUSED = "management_refused"
        # A person not yet enrolled, let in before their enrolment deadline.
        ENROLMENT_GRACE_SIGN_IN = "enrolment_grace_sign_in"
        # A reminder e-mail sent (`aidial-portal reminders send`); the reason is its kind.
        REMINDER_SENT = "reminder_sent"

    class Support(StrEnum):
        REQUEST_SENT = "support_request_sent"
        REQUEST_REFUSED = "support_request_refused"

    class Administration(StrEnum):
        REPORT_EXPORTED = "report_exported"
        AUDIT_EXPORTED = "audit_exported"
        AUDIT_PURGED = "audit_purged"

    class Directory(StrEnum):
        SYNCED = "directory_synced"


EventType = (
    EventTag.SignIn
    | EventTag.Session
    | EventTag.Mfa
    | EventTag.Support
    | EventTag.Administration
    | EventTag.Directory
)
AREAS: tuple[type[StrEnum], ...] = (
    EventTag.SignIn,
    EventTag.Session,
    EventTag.Mfa,
    EventTag.Support,
    EventTag.Administration,
    EventTag.Directory,
)
# Every type, area by area (the event viewer's filter lists them in this order).
ALL_EVENT_TYPES: tuple[StrEnum, ...] = tuple(member for area in AREAS for member in area)

# What each lifecycle change of the domain is recorded as.
LIFECYCLE_EVENTS: Mapping[Change, EventTag.Mfa] = MappingProxyType(
    {
        Change.ENROLMENT_OBSERVED: EventTag.Mfa.ENROLMENT_OBSERVED,
        Change.UNENROLMENT_OBSERVED: EventTag.Mfa.UNENROLMENT_OBSERVED,
        Change.RE_ENABLEMENT_OBSERVED: EventTag.Mfa.RE_ENABLEMENT_OBSERVED,
        Change.RECOVERY_CODE_SIGN_IN: EventTag.Mfa.RECOVERY_CODE_SIGN_IN,
        Change.RECOVERY_CODES_ACKNOWLEDGED: EventTag.Mfa.RECOVERY_CODES_ACKNOWLEDGED,
        Change.RECOVERY_CODES_REVIEWED: EventTag.Mfa.RECOVERY_CODES_REVIEWED,
        Change.REGENERATION_DECLARED: EventTag.Mfa.REGENERATION_DECLARED,
        Change.SETUP_LAUNCHED: EventTag.Mfa.SETUP_LAUNCHED,
        Change.REVIEW_LAUNCHED: EventTag.Mfa.REVIEW_LAUNCHED,
        Change.MANAGEMENT_LAUNCHED: EventTag.Mfa.MANAGEMENT_LAUNCHED,
    }
)


def is_event_type(value: str) -> bool:
    return value in _KNOWN


_KNOWN = frozenset(ALL_EVENT_TYPES)
