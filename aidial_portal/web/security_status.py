"""What Settings shows and offers, decided in one place from the session, markers and config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aidial_portal.accounts.rollout import session_compliance
from aidial_portal.accounts.session_state import SignedIn
from aidial_portal.config import PortalConfig, is_trusted_provider_url
from aidial_portal.mfa.compliance import Compliance, within_step_up
from aidial_portal.mfa.evidence import FACTOR_TITLES, Unavailable
from aidial_portal.mfa.lifecycle import Markers, PendingReason
from aidial_portal.mfa.next_step import NextStep, Situation, next_step
from aidial_portal.mfa.policy import ROLE_TITLES, Requirement
from aidial_portal.web.local_time import local_time

# True whenever the confirmation is pending, including for people who enrolled at the provider
# before their first portal sign-in (the portal first saw the app then, not when it was added).
PENDING_TEXT = {
    PendingReason.ENROLMENT: "Your account has an authenticator app, and the identity provider "
    "gave you a set of recovery codes with it.",
    PendingReason.RE_ENABLEMENT: "Your account has an authenticator app again, with a new set "
    "of recovery codes from the identity provider.",
    PendingReason.REGENERATION: "You told us you regenerated your recovery codes.",
}


# Why the evidence of this sign-in does not count, when plain words can say more than
# "could not be read". Keyed by the evidence reader's tag (`identity.zitadel`).
EVIDENCE_TEXT: dict[str, str] = {
    Unavailable.OTP_AMBIGUOUS: "This sign-in used a one-time code, but your account also has "
    "one-time codes by SMS or e-mail (or no authenticator app), and the identity provider does "
    "not say which kind of code you used. Only your authenticator app counts. Remove SMS and "
    "e-mail codes from your account at the identity provider, keep your authenticator app, "
    "then refresh your security status.",
    Unavailable.SESSION_USER_MISSING: "The identity provider's record of this sign-in does "
    "not say who signed in, so it cannot show that you used multi-factor authentication. "
    "Refresh your security status to sign in again.",
    Unavailable.AUTHENTICATOR_REMOVED: "Your authenticator app was removed at the identity "
    "provider, so this sign-in's multi-factor check no longer counts. Set up your "
    "authenticator app again, then refresh your security status.",
    Unavailable.SESSION_USER_MISMATCH: "The identity provider's record of this sign-in "
    "belongs to another account, so it cannot show that you used multi-factor "
    "authentication. Refresh your security status to sign in again.",
}


class ManagementRefusal(StrEnum):
    """Why Manage MFA is not offered now: a stable tag for the security event."""

    MANDATORY_ROLE = "mandatory_role"
    NO_ROLE = "no_role"
    MANAGEMENT_URL_UNTRUSTED = "management_url_untrusted"
    NOT_ENROLLED = "not_enrolled"
    STEP_UP_REQUIRED = "step_up_required"


_NOT_AVAILABLE = "MFA management at the provider is not available for your account."
REFUSAL_TEXT: dict[ManagementRefusal, str] = {
    ManagementRefusal.MANDATORY_ROLE: "Your role requires multi-factor authentication, so MFA "
    "cannot be disabled while you hold it.",
    ManagementRefusal.STEP_UP_REQUIRED: "To manage MFA, refresh your security status first, so "
    "that the portal knows you passed a multi-factor check recently.",
    ManagementRefusal.NOT_ENROLLED: "You have no authenticator app enrolled, so there is "
    "nothing to manage yet.",
    ManagementRefusal.NO_ROLE: _NOT_AVAILABLE,
    ManagementRefusal.MANAGEMENT_URL_UNTRUSTED: _NOT_AVAILABLE,
}


@dataclass(frozen=True)
class RoleRow:
    key: str
    title: str
    requirement: Requirement | None
    organisation: str = ""  # the organisation's primary domain (or id) the role is held in


@dataclass(frozen=True)
class SecurityStatus:
    roles: tuple[RoleRow, ...]
    requirement: Requirement | None
    compliance: Compliance
    totp_enrolled: bool | None
    recovery_codes_present: bool | None
    factor_text: str
    verified_at: datetime | None
    evidence_unavailable: bool
    evidence_text: str  # plain words for why the evidence does not count, or ""
    reminders_supported: bool
    markers: Markers
    pending_text: str
    setup_url: str  # Open MFA setup: not enrolled and a trusted page exists
    review_url: str  # the trusted provider management link: enrolled, or enrolment unknown
    can_manage: bool  # Manage MFA at the provider is offered now
    manage_needs_refresh: bool  # it would be, after a fresh sign-in
    max_age_text: str  # how long a multi-factor check counts for a mandatory role
    check_expires_at: datetime | None  # when this sign-in's check stops counting (mandatory)
    # Zitadel said the authenticator app was removed after this sign-in (an Actions v2 event).
    authenticator_removed: bool = False
    next_step: NextStep | None = None  # the one prompt Settings and the dashboard show

    @property
    def has_more_actions(self) -> bool:
        """Settings' actions card has something the one next step does not already offer."""
        offered = {self.next_step.primary, self.next_step.secondary} if self.next_step else set()
        return (
            "refresh" not in offered
            or bool(self.setup_url and "open_setup" not in offered)
            or bool(self.review_url and "review_at_provider" not in offered)
            or self.can_manage
            or self.manage_needs_refresh
        )

    @property
    def app_removed(self) -> bool:
        """The portal saw an authenticator app on this account before, and sees none now."""
        return self.totp_enrolled is False and self.markers.ever_enrolled

    @property
    def codes_confirmed_for_current_app(self) -> bool:
        """A stored-codes confirmation speaks for the current app only: without one there are
        no current codes to have stored."""
        return (
            self.markers.acknowledged_at is not None
            and self.totp_enrolled is not False
            and self.recovery_codes_present is not False
        )

    @property
    def required(self) -> bool:
        return self.requirement is Requirement.REQUIRED

    @property
    def may_declare_codes(self) -> bool:
        """ "I reviewed / regenerated my recovery codes" are true only with an authenticator
        (or when the provider cannot tell us, as on Login V1 without the API)."""
        return self.totp_enrolled is not False

    @property
    def reminder_shown(self) -> bool:
        """The reminder has its own section unless the pending confirmation answers it."""
        return self.markers.reminder_active and not self.markers.pending_answers_reminder


def security_status(
    state: SignedIn,
    markers: Markers,
    config: PortalConfig,
    table: dict[str, Requirement],
    now: datetime,
) -> SecurityStatus:
    evidence = state.evidence
    requirement = state.requirement
    compliance = session_compliance(state, config, now)
    enrolled = evidence.totp_enrolled
    security_trusted = is_trusted_provider_url(config.security_url, config.issuer)
    refusal = management_refusal(state, config, now)
    factor = evidence.recognised_factor
    setup_url = config.security_url if (security_trusted and enrolled is False) else ""
    review_url = config.security_url if (security_trusted and enrolled is not False) else ""
    step = next_step(
        Situation(
            requirement=requirement,
            compliant=compliance.compliant,
            reason=compliance.reason,
            enrolled=enrolled,
            markers=markers,
            setup_available=bool(setup_url),
            review_available=bool(review_url),
        )
    )
    return SecurityStatus(
        roles=role_rows(state, table),
        requirement=requirement,
        compliance=compliance,
        totp_enrolled=enrolled,
        recovery_codes_present=evidence.recovery_codes_present,
        factor_text=FACTOR_TITLES[factor] if factor else "",
        verified_at=evidence.verified_at,
        evidence_unavailable=evidence.unavailable is not None,
        evidence_text=EVIDENCE_TEXT.get(evidence.unavailable or "", ""),
        reminders_supported=evidence.reminders_supported,
        markers=markers,
        pending_text=pending_text(markers),
        setup_url=setup_url,
        review_url=review_url,
        can_manage=refusal is None,
        manage_needs_refresh=refusal is ManagementRefusal.STEP_UP_REQUIRED,
        max_age_text=duration_text(config.mfa_max_age),
        check_expires_at=(
            evidence.verified_at + timedelta(seconds=config.mfa_max_age)
            if requirement is Requirement.REQUIRED and evidence.verified_at is not None
            else None
        ),
        authenticator_removed=evidence.unavailable is Unavailable.AUTHENTICATOR_REMOVED,
        next_step=step,
    )


def role_rows(state: SignedIn, table: Mapping[str, Requirement]) -> tuple[RoleRow, ...]:
    """Each role with the organisation it is held in (one row per grant)."""
    if not state.grants:
        return tuple(
            RoleRow(role, ROLE_TITLES.get(role, role), table.get(role)) for role in state.roles
        )
    return tuple(
        RoleRow(
            grant.role,
            ROLE_TITLES.get(grant.role, grant.role),
            table.get(grant.role),
            grant.org_domain or grant.org_id,
        )
        for grant in state.grants
    )


def pending_text(markers: Markers) -> str:
    """What happened, in one sentence, before asking to confirm the stored codes."""
    if markers.ack_pending is None:
        return ""
    if markers.pending_answers_reminder and markers.reminder_since is not None:
        return (
            "You signed in with a recovery code on "
            f"{local_time(markers.reminder_since, long_month=True)}, and have since set up your "
            "authenticator app again."
        )
    return PENDING_TEXT[markers.ack_pending]


def duration_text(seconds: int) -> str:
    """`43200` -> "12 hours": the multi-factor check's lifetime as people say it."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def management_refusal(
    state: SignedIn, config: PortalConfig, now: datetime
) -> ManagementRefusal | None:
    """Why a launch of provider MFA management must be refused now, or None to allow it."""
    if state.requirement is Requirement.REQUIRED:
        return ManagementRefusal.MANDATORY_ROLE
    if state.requirement is not Requirement.OPTIONAL:
        return ManagementRefusal.NO_ROLE
    if not is_trusted_provider_url(config.management_url, config.issuer):
        return ManagementRefusal.MANAGEMENT_URL_UNTRUSTED
    if state.evidence.totp_enrolled is not True:
        return ManagementRefusal.NOT_ENROLLED
    if not within_step_up(state.evidence, now, config.step_up_max_age):
        return ManagementRefusal.STEP_UP_REQUIRED
    return None
