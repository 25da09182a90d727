"""How long security events are kept: `AIDIAL_AUDIT_RETENTION_DAYS`, 400 days by default.

400 days covers a full year of events plus a month's grace for an annual review. `aidial-portal
audit purge --before ...` deletes only events older than this, and records that it ran.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

DEFAULT_RETENTION_DAYS = 400
MINIMUM_RETENTION_DAYS = 30
ENV_NAME = "AIDIAL_AUDIT_RETENTION_DAYS"


def retention_days() -> int:
    """The configured retention in days: the Django setting, from the environment by default."""
    raw = getattr(settings, ENV_NAME, None)
    days = int(DEFAULT_RETENTION_DAYS if raw is None else raw)
    if days < MINIMUM_RETENTION_DAYS:
        raise ValueError(f"{ENV_NAME} must be at least {MINIMUM_RETENTION_DAYS} days")
    return days


@checks.register(checks.Tags.security)
def check_retention(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        retention_days()
    except (TypeError, ValueError):
        return [
            checks.Error(
                f"{ENV_NAME} must be a whole number of days, at least {MINIMUM_RETENTION_DAYS}.",
                hint=f"Unset it to keep security events for {DEFAULT_RETENTION_DAYS} days.",
                id="aidial.E901",
            )
        ]
    return []
