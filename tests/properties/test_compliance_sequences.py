"""No sequence of sign-ins, enrolment observations, acknowledgements, declarations and launches
makes a mandatory-role session compliant unless the account is enrolled and this sign-in
passed a recognised factor recently enough.

The model keeps what the portal keeps: the lifecycle markers (moved only by `advance`) and the
evidence of the current sign-in (replaced at each sign-in or refresh). Markers must never be
able to stand in for evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from aidial_portal.mfa.compliance import DEFAULT_MFA_MAX_AGE, evaluate
from aidial_portal.mfa.evidence import Evidence, Factor, Source
from aidial_portal.mfa.lifecycle import (
    Acknowledged,
    CodesReviewed,
    ManagementLaunched,
    Markers,
    Observed,
    RegenerationDeclared,
    ReviewLaunched,
    SetupLaunched,
    advance,
)
from aidial_portal.mfa.policy import Requirement

START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SignIn:
    """A sign-in or refresh: what the provider reported for it."""

    enrolled: bool | None
    factor: Factor | None
    factor_age: int  # seconds between the factor check and the callback
    unavailable: bool


@dataclass(frozen=True)
class Declaration:
    kind: str  # "acknowledged", "reviewed", "regenerated", "launched" (and setup/review)


@dataclass(frozen=True)
class Background:
    """An observation without a new sign-in (the session's evidence does not change)."""

    enrolled: bool | None
    used_recovery_code: bool


sign_ins = st.builds(
    SignIn,
    enrolled=st.sampled_from([True, False, None]),
    factor=st.sampled_from([None, Factor.TOTP, Factor.RECOVERY_CODE, Factor.OTP]),
    factor_age=st.integers(0, 2 * DEFAULT_MFA_MAX_AGE),
    unavailable=st.booleans(),
)
declarations = st.builds(
    Declaration,
    kind=st.sampled_from(
        ["acknowledged", "reviewed", "regenerated", "setup", "review", "launched"]
    ),
)
backgrounds = st.builds(
    Background, enrolled=st.sampled_from([True, False, None]), used_recovery_code=st.booleans()
)
steps = st.lists(
    st.tuples(st.one_of(sign_ins, declarations, backgrounds), st.integers(0, 4 * 3600)),
    max_size=30,
)


def evidence_of(sign_in: SignIn, at: datetime) -> Evidence:
    if sign_in.unavailable:
        return Evidence(Source.SESSION, None, None, unavailable="provider_error")
    verified = (
        {sign_in.factor: at - timedelta(seconds=sign_in.factor_age)} if sign_in.factor else {}
    )
    return Evidence(Source.SESSION, sign_in.enrolled, sign_in.enrolled, verified=verified)


@settings(max_examples=400, deadline=None)
@given(steps)
def test_no_sequence_makes_a_mandatory_session_compliant_without_enrolment_and_a_factor(
    sequence: list[tuple[SignIn | Declaration | Background, int]],
) -> None:
    markers = Markers()
    now = START
    evidence: Evidence | None = None  # not signed in yet
    current: SignIn | None = None
    for step, elapsed in sequence:
        now += timedelta(seconds=elapsed)
        match step:
            case SignIn():
                evidence = evidence_of(step, now)
                current = step
                observed = Observed(
                    at=now,
                    enrolled=None if step.unavailable else step.enrolled,
                    used_recovery_code=evidence.used_recovery_code,
                )
                markers = advance(markers, observed).markers
            case Background():
                observed = Observed(now, step.enrolled, step.used_recovery_code)
                markers = advance(markers, observed).markers
            case Declaration(kind="acknowledged"):
                markers = advance(markers, Acknowledged(now)).markers
            case Declaration(kind="regenerated"):
                markers = advance(markers, RegenerationDeclared(now)).markers
            case Declaration(kind="reviewed"):
                markers = advance(markers, CodesReviewed(now)).markers
            case Declaration(kind="setup"):
                markers = advance(markers, SetupLaunched(now)).markers
            case Declaration(kind="review"):
                markers = advance(markers, ReviewLaunched(now)).markers
            case Declaration():
                markers = advance(markers, ManagementLaunched(now)).markers
        if evidence is None or current is None:
            continue
        compliance = evaluate(Requirement.REQUIRED, evidence, now)
        event(f"compliant: {compliance.compliant}")
        if compliance.compliant:
            # Everything that made it compliant belongs to the current sign-in.
            assert not current.unavailable
            assert current.enrolled is True
            assert current.factor is not None
            verified_at = evidence.verified_at
            assert verified_at is not None
            assert now - verified_at <= timedelta(seconds=DEFAULT_MFA_MAX_AGE)
        else:
            assert compliance.reason is not None
        # The markers alone never stand in for the evidence of this sign-in.
        bare = Evidence(Source.SESSION, markers.enrolled_observed, None)
        assert not evaluate(Requirement.REQUIRED, bare, now).compliant


@given(st.lists(st.one_of(declarations, backgrounds), max_size=30))
def test_without_a_sign_in_that_passed_a_factor_nothing_is_compliant(
    sequence: list[Declaration | Background],
) -> None:
    """A password-only sign-in of an enrolled account stays non-compliant whatever happens."""
    now = START
    evidence = Evidence(Source.SESSION, True, True)
    markers = advance(Markers(), Observed(now, True)).markers
    for step in sequence:
        now += timedelta(minutes=1)
        match step:
            case Background():
                markers = advance(
                    markers, Observed(now, step.enrolled, step.used_recovery_code)
                ).markers
            case Declaration(kind="acknowledged"):
                markers = advance(markers, Acknowledged(now)).markers
            case Declaration(kind="regenerated"):
                markers = advance(markers, RegenerationDeclared(now)).markers
            case Declaration(kind="reviewed"):
                markers = advance(markers, CodesReviewed(now)).markers
            case Declaration(kind="setup"):
                markers = advance(markers, SetupLaunched(now)).markers
            case Declaration(kind="review"):
                markers = advance(markers, ReviewLaunched(now)).markers
            case Declaration():
                markers = advance(markers, ManagementLaunched(now)).markers
        assert not evaluate(Requirement.REQUIRED, evidence, now).compliant
