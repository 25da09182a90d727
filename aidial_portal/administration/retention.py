"""How long security events are kept: `AIDIAL_AUDIT_RETENTION_DAYS`, 400 days by default.

400 days covers a full year of events plus a month's grace for an annual review. `aidial-portal
audit purge --before ...` deletes only events older than this, and records that it ran.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core import checks

DEFAULT_RETENTION_DAYS = 400
MINIMUM_RETENTION_DAYS = 30
ENV_NAME = "AIDIAL_AUDIT_RETENTION_DAYS"


def retention_days() -> int:
    """The configured retention in days (a Django setting wins over the environment)."""
    raw = getattr(settings, ENV_NAME, None)
    if raw is None:
        raw = os.environ.get(ENV_NAME) or DEFAULT_RETENTION_DAYS
    days = int(raw)
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
