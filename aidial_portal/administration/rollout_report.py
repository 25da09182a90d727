"""The compliance report's rollout columns: each account's level (AIDIAL_ROLE_LEVELS) and
enrolment deadline (AIDIAL_ENROLMENT_GRACE_DAYS) with its status.

Shown only when the settings are on, so that with them off the report is the one the user guide
describes. Computed per page: levels from the roles already loaded, deadlines with one query
for the page's accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils.formats import date_format

from aidial_portal.accounts.models import Account
from aidial_portal.accounts.rollout import deadline_from, first_seen_by_account, level_of
from aidial_portal.config import PortalConfig
from aidial_portal.mfa.compliance import Reason
from aidial_portal.mfa.levels import LEVEL_TITLES, Level
from aidial_portal.mfa.policy import Requirement

IN_GRACE = "In grace period"
DEADLINE_PASSED = "Deadline passed"


@dataclass(frozen=True)
class RolloutCell:
    level: str = ""  # the level's title when stricter than the guide's, else ""
    deadline: date | None = None  # the last day to enrol
    grace_status: str = ""  # IN_GRACE or DEADLINE_PASSED while not enrolled


@dataclass(frozen=True)
class RolloutColumns:
    levels_shown: bool = False
    deadlines_shown: bool = False
    cells: Mapping[int, RolloutCell] = field(default_factory=dict)

    @property
    def shown(self) -> int:
        """How many columns the table gains (for a colspan)."""
        return int(self.levels_shown) + int(self.deadlines_shown)

    def cell(self, account: Account) -> RolloutCell:
        return self.cells.get(account.pk, RolloutCell())

    def columns(self) -> list[RolloutColumn]:
        """The columns the report's table gains (after `report_rows.COLUMNS`)."""
        return [
            column
            for column, shown in ((LEVEL, self.levels_shown), (DEADLINE, self.deadlines_shown))
            if shown
        ]

    def cells_for(self, account: Any) -> list[tuple[str, str, str]]:
        """(key, title, text) of each column shown, for one account's row."""
        cell = self.cells.get(getattr(account, "pk", None) or 0, RolloutCell())
        texts = {
            LEVEL.key: cell.level or "Multi-factor authentication",
            DEADLINE.key: (
                f"{date_format(cell.deadline, 'j M Y')}"
                + (f": {cell.grace_status}" if cell.grace_status else "")
                if cell.deadline
                else "—"
            ),
        }
        return [(column.key, column.title, texts[column.key]) for column in self.columns()]


@dataclass(frozen=True)
class RolloutColumn:
    key: str
    title: str


LEVEL = RolloutColumn("level", "Level")
DEADLINE = RolloutColumn("deadline", "Enrolment deadline")


def for_page(accounts: Iterable[Account], config: PortalConfig, now: datetime) -> RolloutColumns:
    accounts = list(accounts)
    levels_shown = bool(config.role_levels)
    deadlines_shown = config.enrolment_grace_days > 0
    if not (levels_shown or deadlines_shown):
        return RolloutColumns()
    first_seen = first_seen_by_account(a.pk for a in accounts) if deadlines_shown else {}
    cells = {}
    for account in accounts:
        level = level_of(account.roles, config)
        deadline = (
            deadline_from(first_seen.get(account.pk), config)
            if account.requirement == Requirement.REQUIRED.value
            else None
        )
        status = ""
        if deadline is not None and account.last_status == Reason.NOT_ENROLLED.value:
            status = IN_GRACE if now < deadline.ends_at else DEADLINE_PASSED
        cells[account.pk] = RolloutCell(
            level=LEVEL_TITLES[level] if level is not Level.MFA else "",
            deadline=deadline.last_day if deadline else None,
            grace_status=status,
        )
    return RolloutColumns(levels_shown, deadlines_shown, cells)
