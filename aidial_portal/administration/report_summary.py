"""What the report shows above its table: counts per status for the filtered view, and the
90-day trend of the compliant share from the daily snapshots `directory sync` writes, drawn as
server-rendered SVG (no script, no inline style: it works under the strict CSP) with the
numbers in text too."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, Sum

from aidial_portal.accounts import session_state
from aidial_portal.accounts.models import ComplianceSnapshot, RoleGrant
from aidial_portal.administration.compliance import STATUS_FILTERS, Query, ReportStatus
from aidial_portal.mfa.policy import Requirement

TREND_DAYS = 90
# The counts scan the filtered view; a page turn or a refresh within this long reuses them.
COUNTS_CACHE_SECONDS = 60
_WIDTH, _HEIGHT = 600, 120


@dataclass(frozen=True)
class Counts:
    by_status: list[tuple[ReportStatus, int]]
    mandatory: int
    mandatory_compliant: int
    total: int


def counts(query: Query) -> Counts:
    view = (sorted(query.scope.org_ids or ()), query.organisation, query.role, query.status)
    key = "report-counts:" + hashlib.sha256(repr(view).encode()).hexdigest()
    found = cache.get(key)
    if isinstance(found, Counts):
        return found
    table = session_state.current_role_table()
    required = sorted(role for role, level in table.items() if level is Requirement.REQUIRED)
    if query.org_ids is None:
        mandatory = Q(requirement=Requirement.REQUIRED.value)
    else:
        mandatory = Q(
            Exists(
                RoleGrant.objects.filter(
                    account_id=OuterRef("pk"), org_id__in=sorted(query.org_ids), role__in=required
                )
            )
        )
    aggregates = {status.value: Count("pk", filter=test) for status, test in STATUS_FILTERS.items()}
    aggregates["mandatory"] = Count("pk", filter=mandatory)
    aggregates["mandatory_compliant"] = Count(
        "pk", filter=mandatory & STATUS_FILTERS[ReportStatus.COMPLIANT]
    )
    aggregates["total"] = Count("pk")
    values = query.accounts().aggregate(**aggregates)
    found = Counts(
        by_status=[(status, values[status.value]) for status in STATUS_FILTERS],
        mandatory=values["mandatory"],
        mandatory_compliant=values["mandatory_compliant"],
        total=values["total"],
    )
    cache.set(key, found, COUNTS_CACHE_SECONDS)
    return found


@dataclass(frozen=True)
class Day:
    day: date
    mandatory: int
    compliant: int

    @property
    def share(self) -> float:
        return self.compliant / self.mandatory if self.mandatory else 0.0

    @property
    def percent(self) -> int:
        return round(self.share * 100)


@dataclass(frozen=True)
class Trend:
    days: list[Day]
    points: str  # the SVG polyline's points
    width: int = _WIDTH
    height: int = _HEIGHT

    @property
    def first(self) -> Day | None:
        return self.days[0] if self.days else None

    @property
    def last(self) -> Day | None:
        return self.days[-1] if self.days else None


def trend(query: Query, today: date) -> Trend:
    """The compliant share per day over the last 90 days, for the organisations in view."""
    snapshots = ComplianceSnapshot.objects.filter(day__gt=today - timedelta(days=TREND_DAYS))
    if query.org_ids is not None:
        snapshots = snapshots.filter(org_id__in=sorted(query.org_ids))
    days = [
        Day(row["day"], row["mandatory"], row["compliant"])
        for row in snapshots.values("day")
        .annotate(mandatory=Sum("mandatory"), compliant=Sum("compliant"))
        .order_by("day")
    ]
    return Trend(days=days, points=_points(days, today))


def _points(days: Sequence[Day], today: date) -> str:
    start = today - timedelta(days=TREND_DAYS - 1)
    step = _WIDTH / (TREND_DAYS - 1)
    return " ".join(
        f"{(day.day - start).days * step:.1f},{_HEIGHT - day.share * _HEIGHT:.1f}" for day in days
    )
