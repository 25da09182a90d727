"""Does this sign-in satisfy the requirement of the person's roles? One pure function."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aidial_portal.mfa.evidence import Evidence, Factor
from aidial_portal.mfa.levels import (
    DEFAULT_ACCEPTED_FACTORS,
    PHISHING_RESISTANT_FACTORS,
    Level,
    counted_factors,
)
from aidial_portal.mfa.policy import Requirement

DEFAULT_MFA_MAX_AGE = 43_200  # 12 h, Zitadel's default multi_factor_check_lifetime


class Reason(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    CHALLENGE_NOT_SATISFIED = "challenge_not_satisfied"
    MFA_STALE = "mfa_stale"
    EVIDENCE_UNAVAILABLE = "evidence_unavailable"
    # Enrolled, but the role's level asks for a passkey or security key in this sign-in.
    PHISHING_RESISTANT_REQUIRED = "phishing_resistant_required"


@dataclass(frozen=True)
class Compliance:
    compliant: bool
    reason: Reason | None = None


COMPLIANT = Compliance(compliant=True)
COMPLIANT_TAG = "compliant"  # `status_as_if_required` for a compliant sign-in


def evaluate(  # noqa: PLR0911 - one return per reason
    requirement: Requirement,
    evidence: Evidence,
    now: datetime,
    *,
    max_age: int = DEFAULT_MFA_MAX_AGE,
    level: Level = Level.MFA,
    accepted: frozenset[Factor] = DEFAULT_ACCEPTED_FACTORS,
) -> Compliance:
    """Optional roles are never blocked. A mandatory role is compliant only when the account
    is enrolled in an accepted factor and a factor that meets the role's `level` was verified
    in this sign-in, no longer than `max_age` seconds ago. Anything unknown counts against
    compliance."""
    if requirement is not Requirement.REQUIRED:
        return COMPLIANT
    if evidence.unavailable is not None:
        return Compliance(False, Reason.EVIDENCE_UNAVAILABLE)
    if not is_enrolled(evidence, accepted):
        return Compliance(False, Reason.NOT_ENROLLED)
    counted = counted_factors(level, accepted)
    checks = [at for factor, at in evidence.verified.items() if factor in counted]
    if not checks:
        if level is Level.PHISHING_RESISTANT:
            return Compliance(False, Reason.PHISHING_RESISTANT_REQUIRED)
        return Compliance(False, Reason.CHALLENGE_NOT_SATISFIED)
    verified_at = max(checks)
    if now - verified_at > timedelta(seconds=max_age):
        return Compliance(False, Reason.MFA_STALE)
    return COMPLIANT


def is_enrolled(evidence: Evidence, accepted: frozenset[Factor] = DEFAULT_ACCEPTED_FACTORS) -> bool:
    """The account has an accepted factor it can sign in with: an authenticator app, a
    passkey or a security key (recovery codes alone are not an enrolment)."""
    if Factor.TOTP in accepted and evidence.totp_enrolled is True:
        return True
    return bool(evidence.webauthn_enrolled & accepted & PHISHING_RESISTANT_FACTORS)


def status_as_if_required(
    evidence: Evidence,
    now: datetime,
    *,
    max_age: int,
    level: Level = Level.MFA,
    accepted: frozenset[Factor] = DEFAULT_ACCEPTED_FACTORS,
) -> str:
    """The tag the compliance report keeps for an account's last sign-in: "compliant" or the
    reason it would not be, as if MFA were required (so the report tells "not enrolled" from
    "skipped MFA" for optional roles too)."""
    compliance = evaluate(
        Requirement.REQUIRED, evidence, now, max_age=max_age, level=level, accepted=accepted
    )
    return COMPLIANT_TAG if compliance.compliant else str(compliance.reason)


def within_step_up(evidence: Evidence, now: datetime, max_age: int) -> bool:
    """A recognised factor was verified in this sign-in no longer than `max_age` seconds ago."""
    verified_at = evidence.verified_at
    return verified_at is not None and now - verified_at <= timedelta(seconds=max_age)
