"""Rolling MFA out: what a signed-in session is judged by beyond the role table.

The role's level (`AIDIAL_ROLE_LEVELS`) and the accepted factors (`AIDIAL_ACCEPTED_FACTORS`)
come from settings, the roles from the session: no query, no network call, so the gate can
ask on every request.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from aidial_portal.accounts.session_state import SignedIn, current_role_table
from aidial_portal.config import PortalConfig
from aidial_portal.mfa.compliance import Compliance, evaluate
from aidial_portal.mfa.levels import Level, level_for
from aidial_portal.mfa.policy import Requirement


def mandatory_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """The roles held that require MFA under the role table in force."""
    table = current_role_table()
    return tuple(role for role in roles if table.get(role) is Requirement.REQUIRED)


def level_of(roles: Iterable[str], config: PortalConfig) -> Level:
    """The strictest level among the held roles that require MFA (`mfa` unless
    AIDIAL_ROLE_LEVELS says more; a level on an optional role asks nothing)."""
    return level_for(mandatory_roles(roles), config.role_levels)


def session_compliance(state: SignedIn, config: PortalConfig, now: datetime) -> Compliance:
    """Does this sign-in satisfy its roles' requirement, at their level, with accepted factors?"""
    if state.requirement is None:
        return Compliance(False)
    return evaluate(
        state.requirement,
        state.evidence,
        now,
        max_age=config.mfa_max_age,
        level=level_of(state.roles, config),
        accepted=config.accepted_factors,
    )
