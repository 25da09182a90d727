"""The compliance report, its CSV export, and the security event viewer.

These are ordinary gated views: the gate has already refused a session that is signed out or
not MFA-compliant. Here each view asks `report_scope` which accounts the viewer may see, and
answers 403 when the answer is none.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from aidial_portal.accounts import session_state
from aidial_portal.accounts.permissions import Scope, report_scope
from aidial_portal.administration import compliance, event_text, report_rows, report_summary
from aidial_portal.administration.csv_export import csv_lines
from aidial_portal.administration.events import NEWEST_FIRST, EventFilter, EventQuery
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.web.access import signed_in_account_id
from aidial_portal.web.pagination import paginate

PAGE_SIZE = 50


def _scope(request: HttpRequest) -> Scope | None:
    state = session_state.load(request.session)
    if state is None:  # pragma: no cover - the gate lets only signed-in sessions through
        return None
    return report_scope(state.grants)


def _report_filter(request: HttpRequest, scope: Scope) -> compliance.ReportFilter:
    state = session_state.load(request.session)
    grants = state.grants if state is not None else ()
    return compliance.ReportFilter(
        request.GET or None,
        scope=scope,
        organisations=compliance.organisation_choices(scope, grants),
    )


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/forbidden.html", status=403)


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
def compliance_report(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if scope is None:
        return _forbidden(request)
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
    return render(
        request,
        "administration/compliance.html",
        {
            "form": form,
            "scope": scope,
            "rows": rows,
            "table": [(row, report_rows.cells(row)) for row in rows],
            "columns": report_rows.COLUMNS,
            "page": page,
            "filters": _query_without(request, "after", "before"),
            "statuses": list(compliance.STATUS_LABELS.items()),
            "counts": report_summary.counts(query),
            "trend": report_summary.trend(query, timezone.localdate()),
            "synced_at": synced_at,
        },
    )


@require_GET
def compliance_export(request: HttpRequest) -> HttpResponseBase:
    scope = _scope(request)
    if scope is None:
        return _forbidden(request)
    form = _report_filter(request, scope)
    query = compliance.Query.from_form(form, scope)
    record(
        EventTag.Administration.REPORT_EXPORTED,
        account_id=signed_in_account_id(request),
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
def security_events(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if scope is None:
        return _forbidden(request)
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
