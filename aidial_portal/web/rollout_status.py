"""What pages say about rolling MFA out: the level a role needs and why, and the enrolment
deadline of a person let in before it (a banner on every page, and Settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils import timezone

from aidial_portal.accounts.rollout import (
    grace_for,
    level_of,
    mandatory_roles,
    session_compliance,
)
from aidial_portal.accounts.session_state import SignedIn
from aidial_portal.config import PortalConfig, is_trusted_provider_url
from aidial_portal.mfa.levels import LEVEL_REASONS, LEVEL_TITLES, Level
from aidial_portal.mfa.policy import ROLE_TITLES, Requirement


@dataclass(frozen=True)
class LevelStatus:
    level: Level
    title: str
    reason: str
    roles: tuple[str, ...]  # the titles of the roles held that ask for this level

    @property
    def strict(self) -> bool:
        return self.level is not Level.MFA


def level_status(state: SignedIn, config: PortalConfig) -> LevelStatus:
    """The strictest level among the roles held that require MFA (optional roles ask none)."""
    mandatory = mandatory_roles(state.roles)
    level = level_of(mandatory, config)
    roles = tuple(
        ROLE_TITLES.get(role, role)
        for role in mandatory
        if config.role_levels.get(role, Level.MFA) is level
    )
    return LevelStatus(level, LEVEL_TITLES[level], LEVEL_REASONS[level], roles)


@dataclass(frozen=True)
class GraceNotice:
    """A not-enrolled person let in before their enrolment deadline: what the banner says."""

    last_day: date
    days_left: int
    setup_offered: bool  # Open MFA setup leads to a trusted provider page

    @property
    def days_left_text(self) -> str:
        if self.days_left <= 0:
            return "today is the last day"
        return f"{self.days_left} day{'' if self.days_left == 1 else 's'} left"


def grace_notice(
    state: SignedIn | None, session: Mapping[str, Any], config: PortalConfig
) -> GraceNotice | None:
    """The banner for a session let in on its enrolment deadline, from the request's sign-in
    and the deadline its session carries (no query)."""
    if state is None or state.requirement is not Requirement.REQUIRED:
        return None
    now = timezone.now()
    deadline = grace_for(session, session_compliance(state, config, now), config, now)
    if deadline is None:
        return None
    return GraceNotice(
        last_day=deadline.last_day,
        days_left=deadline.days_left(timezone.localdate(now)),
        setup_offered=is_trusted_provider_url(config.security_url, config.issuer)
        and state.evidence.totp_enrolled is False,
    )
