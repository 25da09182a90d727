"""The MFA gate: on every request, does this session satisfy its role's MFA policy?

One `process_view` asks, in order: is the view public? has the session expired? is the view
exempt from compliance? is the sign-in compliant? It reads only `request.sign_in` (parsed from
the session by the sign-in middleware) and the clock: no query, no network call (an expired
session is recorded and removed, once). Decisions come from `SignIn.compliance`; this module
only turns their reasons into responses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from aidial_portal import metrics
from aidial_portal.accounts.rollout import grace_for
from aidial_portal.accounts.session_state import CurrentSignIn, SignInRequest
from aidial_portal.audit.coalescing import record_refusal, refusal_source
from aidial_portal.audit.events import EventTag
from aidial_portal.mfa.compliance import Reason
from aidial_portal.web.access import is_compliance_exempt, is_public
from aidial_portal.web.lifetime import end_if_expired
from aidial_portal.web.problems import problem, wants_html

REASON_TEXT = {
    Reason.NOT_ENROLLED: "Your role requires multi-factor authentication, and your account "
    "has no authenticator app enrolled yet.",
    Reason.CHALLENGE_NOT_SATISFIED: "Your role requires multi-factor authentication, and this "
    "sign-in did not use your authenticator app or a recovery code.",
    Reason.MFA_STALE: "Your last multi-factor check is too old. Refresh your security status "
    "to check again.",
    Reason.EVIDENCE_UNAVAILABLE: "The portal could not read your security status from the "
    "identity provider. Refresh your security status to try again.",
    Reason.PHISHING_RESISTANT_REQUIRED: "Your role requires a passkey or security key in this "
    "sign-in; an authenticator app or recovery code alone is not enough. Set one up at the "
    "identity provider if you have none, then refresh your security status.",
}


class MfaGateMiddleware:
    """After the sign-in middleware: session lifetimes, then MFA compliance."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: SignInRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if is_public(view_func):
            return None
        now = timezone.now()
        sign_in = request.sign_in
        if sign_in is None or end_if_expired(request, sign_in, now):
            return _sign_in_first(request)
        if is_compliance_exempt(view_func):
            return None
        if sign_in.requirement is None:
            return TemplateResponse(request, "portal/no_access.html", status=403)
        compliance = sign_in.compliance(now)
        # Not enrolled, before the deadline the sign-in carries, goes on too (a banner says so).
        if compliance.compliant or grace_for(request.session, compliance, settings.AIDIAL, now):
            return None
        reason = compliance.reason or Reason.EVIDENCE_UNAVAILABLE
        return _deny(request, sign_in, reason)


def _sign_in_first(request: HttpRequest) -> HttpResponse:
    if wants_html(request):
        return _to("login", request)
    return problem(401, "Sign in first", "not_signed_in")


def _deny(request: HttpRequest, sign_in: CurrentSignIn, reason: Reason) -> HttpResponse:
    metrics.GATE_DENIALS.labels(reason=reason.value).inc()
    # Counted on every request; written once per window (a repeated denial makes no query).
    denied = sign_in.account_id
    record_refusal(
        EventTag.Session.GATE_DENIED,
        source=refusal_source(request, denied),
        account_id=denied,
        session_key=request.session.session_key,
        reason=reason.value,
        details={"method": (request.method or "").lower()},
    )
    if wants_html(request):
        return _to("settings", request)
    return problem(403, "Multi-factor authentication required", reason.value, REASON_TEXT[reason])


def _to(route: str, request: HttpRequest) -> HttpResponse:
    """Redirect to a named page that sends the person back here afterwards."""
    query = urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(f"{reverse(route)}?{query}")
