"""Times as people read them: in AIDIAL_TIME_ZONE (Django's TIME_ZONE), with the zone's
abbreviation (AEDT in summer, AEST in winter for Australia/Sydney). Stored times stay UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from django.utils import dateformat, timezone

# Django's date format: "8 Dec 2026, 14:48 AEDT". Templates use the same with `|date`.
TIME_FORMAT: Final = "j M Y, H:i T"
SECONDS_FORMAT: Final = "j M Y, H:i:s T"


def local_time(moment: datetime | None, format_string: str = TIME_FORMAT) -> str:
    if moment is None:
        return ""
    return dateformat.format(timezone.localtime(moment), format_string)


def zone_name() -> str:
    """The zone's abbreviation now (for labels such as "From (AEDT)")."""
    return dateformat.format(timezone.localtime(timezone.now()), "T")
