"""Does this sign-in satisfy the requirement of the person's roles? One pure function."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aidial_portal.mfa.evidence import Evidence
from aidial_portal.mfa.policy import Requirement

DEFAULT_MFA_MAX_AGE = 43_200  # 12 h, Zitadel's default multi_factor_check_lifetime


class Reason(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    CHALLENGE_NOT_SATISFIED = "challenge_not_satisfied"
    MFA_STALE = "mfa_stale"
    EVIDENCE_UNAVAILABLE = "evidence_unavailable"


@dataclass(frozen=True)
class Compliance:
    compliant: bool
    reason: Reason | None = None


COMPLIANT = Compliance(compliant=True)
COMPLIANT_TAG = "compliant"  # `status_as_if_required` for a compliant sign-in


def evaluate(
    requirement: Requirement,
    evidence: Evidence,
    now: datetime,
    *,
    max_age: int = DEFAULT_MFA_MAX_AGE,
) -> Compliance:
    """Optional roles are never blocked. A mandatory role is compliant only when the account
    is enrolled and a recognised factor was verified in this sign-in, no longer than
    `max_age` seconds ago. Anything unknown counts against compliance."""
    if requirement is not Requirement.REQUIRED:
        return COMPLIANT
    if evidence.unavailable is not None:
        return Compliance(False, Reason.EVIDENCE_UNAVAILABLE)
    if evidence.totp_enrolled is not True:
        return Compliance(False, Reason.NOT_ENROLLED)
    verified_at = evidence.verified_at
    if verified_at is None:
        return Compliance(False, Reason.CHALLENGE_NOT_SATISFIED)
    if now - verified_at > timedelta(seconds=max_age):
        return Compliance(False, Reason.MFA_STALE)
    return COMPLIANT


def status_as_if_required(evidence: Evidence, now: datetime, *, max_age: int) -> str:
    """The tag the compliance report keeps for an account's last sign-in: "compliant" or the
    reason it would not be, as if MFA were required (so the report tells "not enrolled" from
    "skipped MFA" for optional roles too)."""
    compliance = evaluate(Requirement.REQUIRED, evidence, now, max_age=max_age)
    return COMPLIANT_TAG if compliance.compliant else str(compliance.reason)


def within_step_up(evidence: Evidence, now: datetime, max_age: int) -> bool:
    """A recognised factor was verified in this sign-in no longer than `max_age` seconds ago."""
    verified_at = evidence.verified_at
    return verified_at is not None and now - verified_at <= timedelta(seconds=max_age)
