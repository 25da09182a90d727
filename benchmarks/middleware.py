"""Benchmark-only middleware, first in `benchmarks.settings.MIDDLEWARE` (never in the portal's).

`BenchMiddleware` does two things for the benchmarks that measure a real server:

- it answers every request with `X-Bench-Cpu-Ns`: the worker process's CPU time
  (`time.process_time_ns`, every thread of the process, threads that ended included) spent
  while Django handled the request. Exact when one client sends one request at a time to a
  one-worker server, which is how the benchmarks read it;
- `/bench/bare/` is handed to a second Django handler in the same process, built with only
  Django's session and CSRF middleware in front of a plain view (`bare_view`): the floor that
  any Django page on this server pays, against which the portal's own page is compared;
  `/bench/bare-dashboard/` goes to the same handler, in front of the dashboard's own view.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from unittest import mock

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token

CPU_HEADER = "X-Bench-Cpu-Ns"
BARE_PATH = "/bench/bare/"
# The dashboard's own view (its account read and template) behind the bare handler: what the
# page costs without the portal's middleware.
BARE_DASHBOARD_PATH = "/bench/bare-dashboard/"
BARE_PATHS = frozenset({BARE_PATH, BARE_DASHBOARD_PATH})
BARE_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]


def bare_view(request: HttpRequest) -> HttpResponse:
    """Reads the session (the same store read every signed-in page pays) and the CSRF token,
    and answers a few bytes of HTML: no template, no query, none of the portal's middleware."""
    signed_in = "aidial_mfa" in request.session
    token = get_token(request)
    body = f"<!doctype html><title>bare</title><p>{'in' if signed_in else 'out'} {len(token)}"
    return HttpResponse(body)


class BareHandler(BaseHandler):
    """A Django request handler with only `middleware` in front of `/bench/bare/`'s view."""

    def __init__(self, middleware: list[str] | None = None) -> None:
        super().__init__()
        with mock.patch.object(settings, "MIDDLEWARE", middleware or BARE_MIDDLEWARE):
            self.load_middleware()


class BenchMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.bare: BareHandler | None = None

    def __call__(self, request: HttpRequest) -> Any:
        started = time.process_time_ns()
        if request.path in BARE_PATHS:
            if self.bare is None:
                self.bare = BareHandler()
            response = self.bare.get_response(request)
        else:
            response = self.get_response(request)
        response[CPU_HEADER] = str(time.process_time_ns() - started)
        return response
