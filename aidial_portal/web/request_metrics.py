"""Request metrics by view name and status class: a few lines on prometheus-client.

Outermost, so that every answer is counted, whatever middleware gave it. The label is the
URL pattern's name (`help`, `compliance-export`), never the path, which may carry ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import get_resolver

from aidial_portal import metrics


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        view = (match.view_name if match else "") or metrics.UNMATCHED_VIEW
        metrics.REQUESTS.labels(view=view, status=metrics.status_class(response.status_code)).inc()
        metrics.REQUEST_SECONDS.labels(view=view).observe(time.perf_counter() - started)
        return response


def view_names() -> list[str]:
    """Every named route of the URLconf, as `resolver_match.view_name` spells it."""
    names: list[str] = []

    def walk(patterns: Iterable[Any], namespace: str) -> None:
        for pattern in patterns:
            inner = getattr(pattern, "url_patterns", None)
            if inner is not None:
                child = getattr(pattern, "namespace", None)
                walk(inner, f"{namespace}{child}:" if child else namespace)
            elif getattr(pattern, "name", None):
                names.append(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns, "")
    return sorted(set(names))
