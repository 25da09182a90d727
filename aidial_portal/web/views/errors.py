"""Plain error pages: no traceback, no request data."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from aidial_portal.web.problems import problem, wants_html


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not wants_html(request) and request.headers.get("Accept", "").find("json") >= 0:
        return problem(403, "Request refused", "csrf_failed")
    return render(request, "portal/csrf_failure.html", status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "portal/error.html", {"title": "Page not found"}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/error.html", {"title": "Something went wrong"}, status=500)
