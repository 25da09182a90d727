"""Headers every page carries: a CSP without inline script, and no-store where it matters."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self' {issuer}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from django.conf import settings

        self.get_response = get_response
        self.csp = CSP.format(issuer=settings.AIDIAL.issuer)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.csp)
        # Every page the portal renders is personal; after sign-out the back button must not
        # bring one back from the cache. Static files never reach this point (whitenoise).
        response.setdefault("Cache-Control", "no-store")
        return response


def private(response: HttpResponse) -> HttpResponse:
    """For the callback and Settings: never cached, never leaked through Referer."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
