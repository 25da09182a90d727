"""Enrolment deadlines: a person new to a mandatory role may use the portal for a while before
they have set up MFA (as GitHub's 2FA rollout or Google Workspace's new-user enrolment period do).

Only "not enrolled" is forgiven, and only until the deadline: a person who has an accepted
factor and signs in without it gets no grace, nor does one whose evidence could not be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from aidial_portal.mfa.compliance import Compliance, Reason


@dataclass(frozen=True)
class Deadline:
    """The last day to enrol (in the portal's time zone) and the first moment after it."""

    last_day: date
    ends_at: datetime

    def days_left(self, today: date) -> int:
        return (self.last_day - today).days


def enrolment_deadline(
    first_seen: datetime | None, grace_days: int, zone: tzinfo
) -> Deadline | None:
    """`grace_days` whole days after the day a mandatory role was first seen, to the end of the
    last day in `zone`; None without a first sighting or without grace."""
    if first_seen is None or grace_days <= 0:
        return None
    last_day = first_seen.astimezone(zone).date() + timedelta(days=grace_days)
    ends_at = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=zone)
    return Deadline(last_day=last_day, ends_at=ends_at)


def within_grace(compliance: Compliance, deadline: Deadline | None, now: datetime) -> bool:
    """A not-enrolled person before their deadline may go on; nothing else is forgiven."""
    return (
        not compliance.compliant
        and compliance.reason is Reason.NOT_ENROLLED
        and deadline is not None
        and now < deadline.ends_at
    )
