"""Refusals for machines: RFC 9457 problem documents."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

PROBLEM_TYPE = "application/problem+json"


def wants_html(request: HttpRequest) -> bool:
    """A page request a browser makes by navigation, as opposed to an API or form call."""
    if request.method not in {"GET", "HEAD"}:
        return False
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return False
    return request.headers.get("X-Requested-With", "") != "XMLHttpRequest"


def problem(status: int, title: str, reason: str, detail: str = "") -> JsonResponse:
    body = {"type": "about:blank", "title": title, "status": status, "reason": reason}
    if detail:
        body["detail"] = detail
    return JsonResponse(body, status=status, content_type=PROBLEM_TYPE)
