"""The compliance report's rollout columns: each account's level (AIDIAL_ROLE_LEVELS).

Shown only when the setting is on, so that with it off the report is the one the user guide
describes. Computed per page from the roles already loaded: no query per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aidial_portal.accounts.models import Account
from aidial_portal.accounts.rollout import level_of
from aidial_portal.config import PortalConfig
from aidial_portal.mfa.levels import LEVEL_TITLES, Level


@dataclass(frozen=True)
class RolloutCell:
    level: str = ""  # the level's title when stricter than the guide's, else ""


@dataclass(frozen=True)
class RolloutColumns:
    levels_shown: bool = False
    cells: Mapping[int, RolloutCell] = field(default_factory=dict)

    @property
    def shown(self) -> int:
        """How many columns the table gains (for a colspan)."""
        return int(self.levels_shown)

    def cell(self, account: Account) -> RolloutCell:
        return self.cells.get(account.pk, RolloutCell())


def for_page(accounts: Iterable[Account], config: PortalConfig) -> RolloutColumns:
    if not config.role_levels:
        return RolloutColumns()
    cells = {}
    for account in accounts:
        level = level_of(account.roles, config)
        cells[account.pk] = RolloutCell(level=LEVEL_TITLES[level] if level is not Level.MFA else "")
    return RolloutColumns(levels_shown=True, cells=cells)
