"""The compliance report, its CSV export, and the security event viewer.

These are ordinary gated views: the gate has already refused a session that is signed out or
not MFA-compliant. Here each view asks `report_scope` which accounts the viewer may see, and
answers 403 when the answer is none.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from aidial_portal.accounts.permissions import Scope, report_scope
from aidial_portal.accounts.session_state import SignInRequest
from aidial_portal.administration import (
    compliance,
    event_text,
    report_rows,
    report_summary,
    rollout_report,
)
from aidial_portal.administration.csv_export import csv_lines
from aidial_portal.administration.events import NEWEST_FIRST, EventFilter, EventQuery
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.web.access import signed_in
from aidial_portal.web.pagination import paginate
from aidial_portal.web.rate_limits import rate_limited

PAGE_SIZE = 50


def _scope(request: SignInRequest) -> Scope:
    """The accounts this viewer may see; PermissionDenied (the 403 page) when none."""
    state = request.sign_in
    scope = report_scope(state.grants) if state is not None else None
    if scope is None:
        raise PermissionDenied
    return scope


def _report_filter(request: SignInRequest, scope: Scope) -> compliance.ReportFilter:
    grants = request.sign_in.grants if request.sign_in is not None else ()
    return compliance.ReportFilter(
        request.GET or None,
        scope=scope,
        organisations=compliance.organisation_choices(scope, grants),
    )


def _query_without(request: SignInRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
def compliance_report(request: SignInRequest) -> HttpResponse:
    scope = _scope(request)
    form = _report_filter(request, scope)
    query = compliance.Query.from_form(form, scope)
    page = paginate(
        query.accounts(),
        query.ordering,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=PAGE_SIZE,
    )
    synced_at = report_rows.last_sync_at()
    rows = report_rows.rows(page.rows, query, synced_at=synced_at)
    # Level and enrolment deadline, only while AIDIAL_ROLE_LEVELS / _ENROLMENT_GRACE_DAYS are on.
    rollout = rollout_report.for_page(page.rows, settings.AIDIAL, timezone.now())
    return render(
        request,
        "administration/compliance.html",
        {
            "form": form,
            "scope": scope,
            "rows": rows,
            "table": [
                (row, report_rows.cells(row) + rollout.cells_for(row.account)) for row in rows
            ],
            "columns": [*report_rows.COLUMNS, *rollout.columns()],
            "page": page,
            "filters": _query_without(request, "after", "before"),
            "statuses": list(compliance.STATUS_LABELS.items()),
            "counts": report_summary.counts(query),
            "trend": report_summary.trend(query, timezone.localdate()),
            "synced_at": synced_at,
        },
    )


@require_GET
@rate_limited("export")
def compliance_export(request: SignInRequest) -> HttpResponseBase:
    scope = _scope(request)
    form = _report_filter(request, scope)
    query = compliance.Query.from_form(form, scope)
    record(
        EventTag.Administration.REPORT_EXPORTED,
        account_id=signed_in(request).account_id,
        session_key=request.session.session_key,
        reason="mfa_compliance",
        details={
            "scope": "all" if scope.everything else "organisation",
            "status": query.status.value if query.status else None,
            "role": query.role or None,
            "organisation_filter": bool(query.organisation),
        },
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        _batched(csv_lines((column.title for column in report_rows.COLUMNS), _csv_rows(query))),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="mfa-compliance-{stamp}.csv"'
    return response


def _batched(lines: Iterator[str], size: int = 200) -> Iterator[str]:
    """The lines in chunks of `size`: the response pays its per-chunk cost once per chunk."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield "".join(batch)
            batch.clear()
    if batch:
        yield "".join(batch)


def _csv_rows(query: compliance.Query) -> Iterator[tuple[object, ...]]:
    for row in report_rows.export_rows(query):
        yield tuple(column.value(row) for column in report_rows.COLUMNS)


@require_GET
@rate_limited("events_export")
def security_events(request: SignInRequest) -> HttpResponse:
    scope = _scope(request)
    form = EventFilter(request.GET or None)
    query = EventQuery.from_form(form, scope)
    page = paginate(
        query.events(),
        NEWEST_FIRST,
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=PAGE_SIZE,
    )
    return render(
        request,
        "administration/events.html",
        {
            "form": form,
            "scope": scope,
            "page": page,
            "events": [event_text.Described.of(event) for event in page.rows],
            "filters": _query_without(request, "after", "before"),
            "time_zone": settings.TIME_ZONE,
        },
    )
