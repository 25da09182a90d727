"""Times as people read them: in AIDIAL_TIME_ZONE (Django's TIME_ZONE), with the zone's
abbreviation (AEDT in summer, AEST in winter for Australia/Sydney). Stored times stay UTC.

Templates use Django's `|date` with the same formats ("j M Y, H:i T"); Python code (the CSV
export, row by row) uses `local_time`, which formats with the standard library: Django's
`dateformat` costs several times more per call, and the export formats two times per row.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

# Django's date format for templates: "8 Dec 2026, 14:48 AEDT".
TIME_FORMAT: Final = "j M Y, H:i T"


def local_time(moment: datetime | None, *, long_month: bool = False) -> str:
    """ "8 Dec 2026, 14:48 AEDT" (or "8 December 2026, 14:48 AEDT")."""
    if moment is None:
        return ""
    local = moment.astimezone(_zone(settings.TIME_ZONE))
    month = _LONG_MONTHS[local.month] if long_month else _MONTHS[local.month]
    return f"{local.day} {month} {local.year}, {local.hour:02}:{local.minute:02} {local.tzname()}"


# English month names whatever the process's locale (strftime's and calendar's follow it).
_LONG_MONTHS: Final = (
    "",
    *[
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
)
_MONTHS: Final = ("", *(name[:3] for name in _LONG_MONTHS[1:]))


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_name() -> str:
    """The zone's abbreviation now (for labels such as "From (AEDT)")."""
    return timezone.localtime(timezone.now()).tzname() or ""
