"""Sign-in, the OIDC callback, refresh and sign-out."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aidial_portal import metrics
from aidial_portal.accounts.flows import complete_sign_in
from aidial_portal.audit.recording import record
from aidial_portal.identity import oidc, services
from aidial_portal.mfa.lifecycle import EventType
from aidial_portal.web import session_state
from aidial_portal.web.access import compliance_exempt, public
from aidial_portal.web.headers import private
from aidial_portal.web.redirects import safe_next

logger = logging.getLogger("aidial_portal.identity")

REJECTION_TEXT = {
    "provider_access_denied": "The sign-in was cancelled or refused at the identity provider.",
    "state_invalid": "This sign-in link has already been used or does not belong to this "
    "browser. Start again from the sign-in page.",
    "state_expired": "The sign-in took longer than 10 minutes. Start again.",
    "refresh_not_fresh": "The identity provider did not ask for your credentials again, so "
    "your security status could not be refreshed. Try again.",
    "refresh_subject_mismatch": "You signed in at the identity provider as a different "
    "person. Your portal session was not changed.",
    "issuer_mismatch": "The portal is not configured correctly for its identity provider. "
    "Please tell your administrator; no one can sign in until this is fixed.",
}
# Every misconfiguration reads the same to the person; the log names the setting to change.
REJECTION_TEXT["endpoint_off_origin"] = REJECTION_TEXT["issuer_mismatch"]
REJECTION_TEXT["api_url_untrusted"] = REJECTION_TEXT["issuer_mismatch"]
GENERIC_REJECTION = (
    "The sign-in could not be completed safely, so it was refused. Please try again; if it "
    "keeps happening, contact your administrator."
)


@public
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_path = safe_next(request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET":
        if session_state.load(request.session) is not None:
            return HttpResponseRedirect(next_path)
        return render(request, "portal/sign_in.html", {"next": next_path})
    return _begin(request, next_path=next_path)


@compliance_exempt
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Refresh security status: a fresh sign-in that returns to Settings."""
    state = session_state.load(request.session)
    if state is None:  # the gate lets only signed-in sessions through; never trust it blindly
        return HttpResponseRedirect("/login/")
    back = "/settings/"
    next_path = safe_next(request.POST.get("next"), default="")
    if next_path:
        back += "?" + urlencode({"next": next_path})
    response = _begin(
        request, next_path=back, refresh_for=state.subject, login_hint=state.login_hint
    )
    if response.status_code == 302:
        record(
            EventType.REFRESH_STARTED,
            account_id=session_state.account_id(request.session),
            session_key=request.session.session_key,
        )
    return response


def _begin(
    request: HttpRequest, *, next_path: str, refresh_for: str = "", login_hint: str = ""
) -> HttpResponse:
    try:
        url = oidc.begin(
            request.session,
            config=settings.AIDIAL,
            directory=services.directory(),
            next_path=next_path,
            refresh_for=refresh_for,
            login_hint=login_hint,
        )
    except oidc.SignInRejected as rejected:
        return _rejected(request, rejected)
    return HttpResponseRedirect(url)


@public
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    try:
        sign_in = oidc.complete(
            request.session,
            request.GET,
            config=settings.AIDIAL,
            directory=services.directory(),
        )
    except oidc.SignInRejected as rejected:
        return private(_rejected(request, rejected))
    try:
        with metrics.PROVIDER_CALL_SECONDS.time():
            identity, evidence = oidc.read_at_callback(
                sign_in,
                config=settings.AIDIAL,
                directory=services.directory(),
                reader=services.evidence_reader(),
            )
    except oidc.SignInRejected as rejected:
        return private(_rejected(request, rejected))
    complete_sign_in(request, sign_in, identity, evidence, timezone.now())
    oidc.keep_id_token(request.session, sign_in.id_token, secret=settings.SECRET_KEY)
    metrics.CALLBACK_SECONDS.observe(time.perf_counter() - started)
    return private(HttpResponseRedirect(safe_next(sign_in.pending.next_path)), forms=False)


def _rejected(request: HttpRequest, rejected: oidc.SignInRejected) -> HttpResponse:
    reason = rejected.reason
    logger.warning("sign_in_rejected", extra={"reason": reason})
    metrics.SIGN_INS.labels(result=reason).inc()
    state = session_state.load(request.session)
    record(
        EventType.REFRESH_REFUSED if state is not None else EventType.SIGN_IN_REJECTED,
        account_id=session_state.account_id(request.session) if state is not None else None,
        session_key=request.session.session_key,
        reason=reason,
    )
    status = 503 if isinstance(rejected, oidc.ProviderDown | oidc.MisconfiguredIssuer) else 400
    template = "portal/provider_unavailable.html" if status == 503 else "portal/sign_in_error.html"
    return render(
        request,
        template,
        {
            "reason": reason,
            "message": REJECTION_TEXT.get(reason, GENERIC_REJECTION),
            "signed_in": state is not None,
            "misconfigured": isinstance(rejected, oidc.MisconfiguredIssuer),
        },
        status=status,
    )


@public
@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End the portal session, then the provider's (Login V2 needs the `id_token_hint`)."""
    if session_state.load(request.session) is not None:
        record(
            EventType.SIGNED_OUT,
            account_id=session_state.account_id(request.session),
            session_key=request.session.session_key,
        )
    ending = oidc.end_session_url(
        request.session,
        config=settings.AIDIAL,
        directory=services.directory(),
        secret=settings.SECRET_KEY,
    )
    logout(request)
    if ending is None:
        return HttpResponseRedirect("/signed-out/")
    url, state = ending
    oidc.remember_sign_out(request.session, state)
    return HttpResponseRedirect(url)


@public
@require_GET
def signed_out(request: HttpRequest) -> HttpResponse:
    confirmed = oidc.sign_out_confirmed(request.session, request.GET.get("state"))
    return render(request, "portal/signed_out.html", {"state_mismatch": confirmed is False})
