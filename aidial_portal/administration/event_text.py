"""Security events as a person reads them: a plain title per type and a sentence for its
details ("Signed in with an authenticator app"), never `sign_in_succeeded` or
`organisation_filter=False`. The stored tags do not change; only how they are shown."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from aidial_portal.audit.events import EventTag
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.web.local_time import local_time

TITLES: Final[Mapping[str, str]] = {
    EventTag.SignIn.SUCCEEDED: "Signed in",
    EventTag.SignIn.REJECTED: "Sign-in refused",
    EventTag.SignIn.SIGNED_OUT: "Signed out",
    EventTag.Session.GATE_DENIED: "Page refused: MFA needed",
    EventTag.Session.REFRESH_STARTED: "Security status refresh started",
    EventTag.Session.REFRESH_COMPLETED: "Security status refreshed",
    EventTag.Session.REFRESH_REFUSED: "Security status refresh refused",
    EventTag.Session.EXPIRED: "Session expired",
    EventTag.Session.BACKCHANNEL_LOGOUT: "Signed out by Zitadel",
    EventTag.Session.ENDED_AT_PROVIDER: "Session ended at Zitadel",
    EventTag.Mfa.EVIDENCE_UNAVAILABLE: "MFA status could not be read",
    EventTag.Mfa.ENROLMENT_OBSERVED: "Authenticator app set up",
    EventTag.Mfa.UNENROLMENT_OBSERVED: "Authenticator app removed",
    EventTag.Mfa.RE_ENABLEMENT_OBSERVED: "Authenticator app set up again",
    EventTag.Mfa.RECOVERY_CODE_SIGN_IN: "Signed in with a recovery code",
    EventTag.Mfa.RECOVERY_CODES_ACKNOWLEDGED: "Recovery codes confirmed as stored",
    EventTag.Mfa.RECOVERY_CODES_REVIEWED: "Recovery codes reviewed",
    EventTag.Mfa.REGENERATION_DECLARED: "New recovery codes made",
    EventTag.Mfa.SETUP_LAUNCHED: "MFA setup opened",
    EventTag.Mfa.REVIEW_LAUNCHED: "Recovery code review opened",
    EventTag.Mfa.MANAGEMENT_LAUNCHED: "MFA settings opened",
    EventTag.Mfa.MANAGEMENT_REFUSED: "MFA settings refused",
    EventTag.Support.REQUEST_SENT: "Support request sent",
    EventTag.Support.REQUEST_REFUSED: "Support request refused",
    EventTag.Administration.REPORT_EXPORTED: "Compliance report exported",
    EventTag.Administration.AUDIT_EXPORTED: "Security events exported",
    EventTag.Administration.AUDIT_PURGED: "Old security events deleted",
    EventTag.Directory.SYNCED: "Directory synchronised from Zitadel",
}

FACTORS: Final = {
    "totp": "an authenticator app",
    "recovery_code": "a recovery code",
    "otp": "a one-time code",
}
REQUIREMENTS: Final = {"required": "MFA required", "optional": "MFA optional"}
STATUSES: Final = {
    "compliant": "compliant",
    "not_enrolled": "not enrolled",
    "challenge_not_satisfied": "signed in without MFA",
    "mfa_stale": "MFA check too old",
    "evidence_unavailable": "MFA status unknown",
    "signed_in_without_mfa": "signed in without MFA",
    "never_signed_in": "never signed in",
    "inactive_in_zitadel": "deactivated or locked in Zitadel",
    "reminder_active": "recovery-code reminder active",
    "acknowledgement_pending": "recovery-code acknowledgement pending",
}
_DIRECTORY_COUNTS: Final = (
    ("people", "people"),
    ("created", "new"),
    ("updated", "updated"),
    ("grants_added", "roles added"),
    ("grants_removed", "roles removed"),
    ("deactivated", "deactivated or locked"),
    ("removed", "removed from Zitadel"),
)


@dataclass(frozen=True)
class Described:
    """An event with its title, reason and details in words, for the page."""

    event: SecurityEvent
    title: str
    reason: str
    details: str

    @classmethod
    def of(cls, event: SecurityEvent) -> Described:
        return cls(
            event=event,
            title=title(event.event_type),
            reason=reason_text(event.reason),
            details=details_text(event.event_type, event.details or {}),
        )


def title(event_type: str) -> str:
    return TITLES.get(event_type, _words(event_type).capitalize())


def reason_text(reason: str) -> str:
    return STATUSES.get(reason, _words(reason)) if reason else ""


def details_text(event_type: str, details: Mapping[str, Any]) -> str:
    """One sentence for the details, or "" when there are none."""
    special = _SPECIAL.get(event_type)
    if special is not None:
        return special(details)
    return "; ".join(f"{_words(key)}: {_value(value)}" for key, value in details.items())


def _sign_in(details: Mapping[str, Any]) -> str:
    factor = details.get("factor")
    parts = [f"With {FACTORS.get(factor, _words(str(factor)))}" if factor else "Without MFA"]
    if details.get("requirement"):
        parts.append(REQUIREMENTS.get(details["requirement"], _words(details["requirement"])))
    if details.get("status"):
        parts.append(f"status: {STATUSES.get(details['status'], _words(details['status']))}")
    return "; ".join(parts)


def _report_exported(details: Mapping[str, Any]) -> str:
    scope = "all organisations" if details.get("scope") == "all" else "own organisations"
    parts = [f"The MFA compliance report of {scope}"]
    if details.get("status"):
        parts.append(f"status: {STATUSES.get(details['status'], _words(details['status']))}")
    if details.get("role"):
        parts.append(f"role: {_words(details['role'])}")
    if details.get("organisation_filter"):
        parts.append("one organisation")
    return "; ".join(parts)


def _directory(details: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{details[key]} {label}" for key, label in _DIRECTORY_COUNTS if key in details
    )


def _audit(details: Mapping[str, Any]) -> str:
    parts = []
    for key, label in (("events", "events"), ("deleted", "deleted")):
        if key in details:
            parts.append(f"{details[key]} {label}")
    for key, label in (
        ("since_epoch", "from"),
        ("until_epoch", "until"),
        ("before_epoch", "before"),
    ):
        if isinstance(details.get(key), int):
            moment = datetime.fromtimestamp(details[key], UTC)
            parts.append(f"{label} {local_time(moment)}")
    if "retention_days" in details:
        parts.append(f"kept {details['retention_days']} days")
    return "; ".join(parts)


_SPECIAL: Final[Mapping[str, Callable[[Mapping[str, Any]], str]]] = {
    EventTag.SignIn.SUCCEEDED: _sign_in,
    EventTag.Session.REFRESH_COMPLETED: _sign_in,
    EventTag.Administration.REPORT_EXPORTED: _report_exported,
    EventTag.Directory.SYNCED: _directory,
    EventTag.Administration.AUDIT_EXPORTED: _audit,
    EventTag.Administration.AUDIT_PURGED: _audit,
}


def _words(tag: str) -> str:
    return tag.replace("_", " ").replace(".", " ").replace(":", " ")


def _value(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "none"
    return _words(str(value))
