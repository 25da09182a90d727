"""Rate limits on the routes anyone can call at will: a decorator any view can wear.

    @rate_limited("zitadel_events")
    def receive(request): ...

Counted with django-ratelimit (`django_ratelimit.core.get_usage`) in the shared cache (Redis
when configured, so every instance counts together; the process's memory otherwise). A signed-in
request counts against its account, any other against the client's address (`client_address`:
the one the trusted proxy forwards with `AIDIAL_TRUST_PROXY`, an IPv6 address by its /64): a
flood from one address never slows a person signed in elsewhere, and people behind one office
NAT are not limited together once signed in. Each limit is a setting (`AIDIAL_RATE_LIMIT_*`,
typed in `config.RateLimits`). Over the limit: 429 with `Retry-After`, a page that names Help
for a browser, a problem document for anything else, and `aidial_rate_limited_total{limit}`.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django_ratelimit.core import get_usage

from aidial_portal import metrics
from aidial_portal.accounts import session_state
from aidial_portal.client_address import client_source
from aidial_portal.web.problems import problem, wants_html

logger = logging.getLogger("aidial_portal.web")
View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def rate_limited(name: str, *, methods: tuple[str, ...] = ()) -> Callable[[View], View]:
    """Limit the view by the setting `AIDIAL_RATE_LIMIT_{NAME}` (only `methods`, if given)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not methods or request.method in methods:
                retry_after = over_limit(request, name)
                if retry_after is not None:
                    return too_many_requests(request, name, retry_after)
            return view(request, *args, **kwargs)

        return limited  # type: ignore[return-value]

    return decorate


def over_limit(request: HttpRequest, name: str) -> int | None:
    """Count this request against limit `name`; the seconds to wait when it is over, else None."""
    rate = settings.AIDIAL.rate_limits.rate(name)
    usage = get_usage(request, group=f"aidial:{name}", key=_who, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, math.ceil(usage["time_left"]))


def _who(group: str, request: HttpRequest) -> str:
    account = session_state.account_id(request.session) if hasattr(request, "session") else None
    return f"account:{account}" if account is not None else f"address:{client_source(request)}"


def too_many_requests(request: HttpRequest, name: str, retry_after: int) -> HttpResponse:
    metrics.RATE_LIMITED.labels(limit=name).inc()
    logger.warning("rate_limited", extra={"reason": name})
    minutes = max(1, math.ceil(retry_after / 60))
    if wants_html(request) or (request.method == "POST" and _from_a_page(request)):
        response: HttpResponse = render(
            request,
            "portal/rate_limited.html",
            {"minutes": minutes},
            status=429,
        )
    else:
        response = problem(
            429, "Too many requests", "rate_limited", f"Try again in {retry_after} seconds."
        )
    response["Retry-After"] = str(retry_after)
    return response


def _from_a_page(request: HttpRequest) -> bool:
    """A form a person submitted (sign-in, support), not an API or the provider's call."""
    return "text/html" in request.headers.get("Accept", "")


__all__ = ["over_limit", "rate_limited", "too_many_requests"]
