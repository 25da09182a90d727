"""The MFA gate: on every request, does this session satisfy its role's MFA policy?

It reads only the session (loaded by Django's session middleware) and the clock: no query,
no network call. Decisions come from `mfa.compliance.evaluate`; this module only turns its
reasons into responses.
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
from aidial_portal.accounts.rollout import grace_for, session_compliance
from aidial_portal.accounts.session_state import account_id, load
from aidial_portal.audit.coalescing import record_refusal, refusal_source
from aidial_portal.audit.events import EventTag
from aidial_portal.mfa.compliance import Reason
from aidial_portal.web.access import is_compliance_exempt, is_public
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
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if is_public(view_func):
            return None
        state = load(request.session)
        if state is None:
            return _sign_in_first(request)
        if is_compliance_exempt(view_func):
            return None
        if state.requirement is None:
            return TemplateResponse(request, "portal/no_access.html", status=403)
        config, now = settings.AIDIAL, timezone.now()
        compliance = session_compliance(state, config, now)
        # Not enrolled, before the deadline the sign-in carries, goes on too (a banner says so).
        if compliance.compliant or grace_for(request.session, compliance, config, now):
            return None
        reason = compliance.reason or Reason.EVIDENCE_UNAVAILABLE
        return _deny(request, reason)


def _sign_in_first(request: HttpRequest) -> HttpResponse:
    if wants_html(request):
        return _to("login", request)
    return problem(401, "Sign in first", "not_signed_in")


def _deny(request: HttpRequest, reason: Reason) -> HttpResponse:
    metrics.GATE_DENIALS.labels(reason=reason.value).inc()
    # Counted on every request; written once per window (a repeated denial makes no query).
    denied = account_id(request.session)
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
