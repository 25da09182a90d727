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


def private(response: HttpResponse, *, forms: bool = True) -> HttpResponse:
    """For the callback and personal pages: never cached, never leaked through Referer.

    A page with forms (every signed-in page has at least Sign out) gets `same-origin`: under
    `no-referrer` browsers send `Origin: null` with the page's own forms, and the CSRF check
    rightly refuses them. `same-origin` still sends nothing to the provider. Only a response
    that holds no form, such as the callback's redirect, gets `no-referrer`.
    """
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin" if forms else "no-referrer"
    return response
