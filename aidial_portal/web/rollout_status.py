"""What Settings says about rolling MFA out: the level a role needs and why."""

from __future__ import annotations

from dataclasses import dataclass

from aidial_portal.accounts.rollout import level_of, mandatory_roles
from aidial_portal.accounts.session_state import SignedIn
from aidial_portal.config import PortalConfig
from aidial_portal.mfa.levels import LEVEL_REASONS, LEVEL_TITLES, Level
from aidial_portal.mfa.policy import ROLE_TITLES


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
