"""Plain error pages: no traceback, no request data, and no database needed to render them."""

from __future__ import annotations

import logging
import sys

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aidial_portal.web.problems import problem, wants_html

logger = logging.getLogger("aidial_portal.errors")

# A store we depend on is down: the request may succeed later, so 503, not 500.
UNAVAILABLE = (DatabaseError, RedisConnectionError, RedisTimeoutError, ConnectionError)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not wants_html(request) and "json" in request.headers.get("Accept", ""):
        return problem(403, "Request refused", "csrf_failed")
    return render(request, "portal/csrf_failure.html", status=403)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """`handler403`: a view raised PermissionDenied. Its message, when it has one, says who the
    page is for (views raise it with a fixed sentence, never with request data)."""
    audience = str(exception) if exception is not None and exception.args else ""
    return render(request, "portal/forbidden.html", {"audience": audience}, status=403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """With the navigation and Sign out when signed in; plain when the session store is down."""
    try:
        request.user.is_authenticated  # noqa: B018 - loads the session now, not mid-template
    except UNAVAILABLE:
        return render(request, "portal/error.html", {"title": "Page not found"}, status=404)
    return render(request, "portal/not_found.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    error = sys.exc_info()[1]
    if isinstance(error, UNAVAILABLE):
        logger.error("store_unavailable", extra={"error_type": type(error).__name__})
        return render(request, "portal/unavailable.html", status=503)
    logger.error("unhandled_error", extra={"error_type": type(error).__name__})
    return render(request, "portal/error.html", {"title": "Something went wrong"}, status=500)
