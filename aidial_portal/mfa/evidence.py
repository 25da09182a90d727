"""What the provider told us about one sign-in: recognised factors, enrolment and times.

Evidence is built once, at sign-in or refresh, from the provider's session state (or from
`amr` on Login V1), and kept in the portal session so the gate needs no network or database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Factor(StrEnum):
    """Second factors this portal recognises as MFA."""

    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"
    # Login V1 (`amr` mode): `otp` in amr, counted only for a person whose one one-time code is
    # TOTP. A recovery code adds nothing to `amr` (Zitadel's AuthMethodTypesToAMR).
    OTP = "otp"
    # Zitadel's `webAuthN` session factor: with `userVerified` a passkey, without it a U2F
    # security key (user presence only). Recognised only when AIDIAL_ACCEPTED_FACTORS says so.
    PASSKEY = "passkey"
    SECURITY_KEY = "security_key"


FACTOR_TITLES: Mapping[Factor, str] = MappingProxyType(
    {
        Factor.TOTP: "Authenticator app (TOTP)",
        Factor.RECOVERY_CODE: "Recovery code",
        Factor.OTP: "One-time code from your authenticator app (TOTP)",
        Factor.PASSKEY: "Passkey",
        Factor.SECURITY_KEY: "Security key",
    }
)


class Source(StrEnum):
    SESSION = "session"
    AMR = "amr"


class Unavailable(StrEnum):
    """Why the MFA facts of a sign-in could not be read. Stable tags for logs, metrics and
    events; people see only that the identity provider could not be read."""

    PROVIDER_UNCONFIGURED = "provider_unconfigured"
    PROVIDER_UNREACHABLE = "provider_unreachable"
    PROVIDER_TIMEOUT = "provider_timeout"
    PROVIDER_ERROR = "provider_error"
    PROVIDER_UNAUTHORISED = "provider_unauthorised"
    PROVIDER_NOT_FOUND = "provider_not_found"
    # A 404 whose body is not Zitadel's error: a proxy's or a wrong API URL's, not an answer.
    UNEXPECTED_NOT_FOUND = "unexpected_not_found"
    PROVIDER_MALFORMED = "provider_malformed"
    SESSION_NOT_READABLE = "session_not_readable"
    SESSION_USER_MISMATCH = "session_user_mismatch"
    # The session does not name its user (no `user` factor, or one without an id).
    SESSION_USER_MISSING = "session_user_missing"
    # `otp` in `amr` while the person also has OTP by SMS or e-mail (or no TOTP): ambiguous.
    OTP_AMBIGUOUS = "otp_ambiguous"
    INVALID_SUBJECT = "invalid_subject"
    AUTH_TIME_MISSING = "auth_time_missing"
    MALFORMED_SESSION_EVIDENCE = "malformed_session_evidence"
    # Zitadel said (an Actions v2 event) that the person's authenticator app was removed
    # after this sign-in: its multi-factor check no longer counts.
    AUTHENTICATOR_REMOVED = "authenticator_removed"


@dataclass(frozen=True)
class Evidence:
    """MFA facts of the current sign-in.

    `totp_enrolled` and `recovery_codes_present` are None when unknown. `verified` maps each
    recognised factor checked in this sign-in to the time it was checked. `unavailable` holds a
    reason tag when the provider could not be read; such evidence never makes a session compliant.
    `webauthn_enrolled` holds the WebAuthn factors (passkey, security key) the account has.
    """

    source: Source
    totp_enrolled: bool | None
    recovery_codes_present: bool | None
    verified: Mapping[Factor, datetime] = field(default_factory=dict)
    unavailable: Unavailable | None = None
    webauthn_enrolled: frozenset[Factor] = frozenset()

    @property
    def recognised_factor(self) -> Factor | None:
        """The most recently verified recognised factor of this sign-in."""
        if not self.verified:
            return None
        return max(self.verified, key=lambda factor: self.verified[factor])

    @property
    def verified_at(self) -> datetime | None:
        factor = self.recognised_factor
        return None if factor is None else self.verified[factor]

    @property
    def used_recovery_code(self) -> bool:
        return Factor.RECOVERY_CODE in self.verified

    @property
    def reminders_supported(self) -> bool:
        """Only session state can tell a recovery-code sign-in from a TOTP one."""
        return self.source is Source.SESSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "totp_enrolled": self.totp_enrolled,
            "recovery_codes_present": self.recovery_codes_present,
            "verified": {f.value: at.isoformat() for f, at in self.verified.items()},
            "unavailable": self.unavailable,
            "webauthn_enrolled": sorted(self.webauthn_enrolled),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """Rebuild evidence kept in a session; anything malformed reads as unavailable."""
        try:
            verified = {
                Factor(name): _aware(datetime.fromisoformat(at))
                for name, at in dict(data["verified"]).items()
            }
            return cls(
                source=Source(data["source"]),
                totp_enrolled=_optional_bool(data["totp_enrolled"]),
                recovery_codes_present=_optional_bool(data["recovery_codes_present"]),
                verified=verified,
                unavailable=_optional_reason(data.get("unavailable")),
                # Absent in sessions stored before passkeys were recognised.
                webauthn_enrolled=frozenset(
                    Factor(name) for name in data.get("webauthn_enrolled", ())
                ),
            )
        except (KeyError, TypeError, ValueError):
            return unavailable(Unavailable.MALFORMED_SESSION_EVIDENCE)


def authenticator_removed(evidence: Evidence) -> Evidence:
    """This sign-in's evidence after the provider said the authenticator app was removed:
    not enrolled, nothing verified, and the reason kept for Settings."""
    return Evidence(
        source=evidence.source,
        totp_enrolled=False,
        recovery_codes_present=evidence.recovery_codes_present,
        unavailable=Unavailable.AUTHENTICATOR_REMOVED,
    )


def unavailable(reason: Unavailable, source: Source = Source.SESSION) -> Evidence:
    """Evidence for a sign-in whose MFA facts could not be read: fails closed."""
    return Evidence(
        source=source,
        totp_enrolled=None,
        recovery_codes_present=None,
        unavailable=Unavailable(reason),
    )


def _optional_reason(value: object) -> Unavailable | None:
    return None if value is None else Unavailable(str(value))


def _optional_bool(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise TypeError("expected a bool or None")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime in evidence")
    return moment.astimezone(UTC)
