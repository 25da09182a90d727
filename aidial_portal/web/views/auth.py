"""Sign-in, the OIDC callback, refresh and sign-out."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aidial_portal.accounts import sign_in as flow
from aidial_portal.accounts.session_state import SignInRequest
from aidial_portal.identity import oidc
from aidial_portal.identity.rejections import Rejection
from aidial_portal.identity.sign_out import sign_out_confirmed
from aidial_portal.web.access import compliance_exempt, public
from aidial_portal.web.headers import private
from aidial_portal.web.rate_limits import rate_limited
from aidial_portal.web.redirects import safe_next

# What a person reads on the error page, by reason; every other reason gets GENERIC_REJECTION.
REJECTION_TEXT: dict[Rejection, str] = {
    Rejection.PROVIDER_ACCESS_DENIED: "The sign-in was cancelled or refused at the identity "
    "provider.",
    Rejection.STATE_INVALID: "This sign-in link has already been used or does not belong to "
    "this browser. Start again from the sign-in page.",
    Rejection.STATE_EXPIRED: "The sign-in took longer than 10 minutes. Start again.",
    Rejection.REFRESH_NOT_FRESH: "The identity provider did not ask for your credentials "
    "again, so your security status could not be refreshed. Try again.",
    Rejection.REFRESH_SUBJECT_MISMATCH: "You signed in at the identity provider as a "
    "different person. Your portal session was not changed.",
    Rejection.ISSUER_MISMATCH: "The portal is not configured correctly for its identity "
    "provider. Please tell your administrator; no one can sign in until this is fixed.",
}
# Every misconfiguration reads the same to the person; the log names the setting to change.
REJECTION_TEXT[Rejection.ENDPOINT_OFF_ORIGIN] = REJECTION_TEXT[Rejection.ISSUER_MISMATCH]
REJECTION_TEXT[Rejection.API_URL_UNTRUSTED] = REJECTION_TEXT[Rejection.ISSUER_MISMATCH]
GENERIC_REJECTION = (
    "The sign-in could not be completed safely, so it was refused. Please try again; if it "
    "keeps happening, contact your administrator."
)


@public
@require_http_methods(["GET", "POST"])
@rate_limited("login", methods=("POST",))
def sign_in(request: SignInRequest) -> HttpResponse:
    next_path = safe_next(request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET":
        if request.sign_in is not None:
            return HttpResponseRedirect(next_path)
        return render(request, "portal/sign_in.html", {"next": next_path})
    return _begin(request, next_path=next_path)


@compliance_exempt
@require_POST
def refresh(request: SignInRequest) -> HttpResponse:
    """Refresh security status: a fresh sign-in that returns to Settings."""
    state = request.sign_in
    if state is None:  # the gate lets only signed-in sessions through; never trust it blindly
        return HttpResponseRedirect(reverse("login"))
    back = reverse("settings")
    next_path = safe_next(request.POST.get("next"), default="")
    if next_path:
        back += "?" + urlencode({"next": next_path})
    try:
        url = flow.begin_refresh(request, state, next_path=back)
    except oidc.SignInRejected as rejected:
        return _rejected(request, rejected)
    return HttpResponseRedirect(url)


def _begin(request: SignInRequest, *, next_path: str) -> HttpResponse:
    try:
        url = flow.begin(request, next_path=next_path)
    except oidc.SignInRejected as rejected:
        return _rejected(request, rejected)
    return HttpResponseRedirect(url)


@public
@require_GET
@rate_limited("callback")
def callback(request: SignInRequest) -> HttpResponse:
    try:
        sign_in = flow.complete(request)
    except oidc.SignInRejected as rejected:
        return private(_rejected(request, rejected))
    return private(HttpResponseRedirect(safe_next(sign_in.pending.next_path)), forms=False)


def _rejected(request: SignInRequest, rejected: oidc.SignInRejected) -> HttpResponse:
    """The page for a refused sign-in (the flow has logged and recorded it)."""
    reason = rejected.reason
    status = 503 if isinstance(rejected, oidc.ProviderDown | oidc.MisconfiguredIssuer) else 400
    template = "portal/provider_unavailable.html" if status == 503 else "portal/sign_in_error.html"
    return render(
        request,
        template,
        {
            "reason": reason,
            "message": REJECTION_TEXT.get(reason, GENERIC_REJECTION),
            "signed_in": request.sign_in is not None,
            "misconfigured": isinstance(rejected, oidc.MisconfiguredIssuer),
        },
        status=status,
    )


@public
@require_POST
def sign_out(request: SignInRequest) -> HttpResponse:
    """End the portal session, then the provider's (Login V2 needs the `id_token_hint`)."""
    leaving = flow.sign_out(request)
    return HttpResponseRedirect(leaving or reverse("signed-out"))


@public
@require_GET
def signed_out(request: SignInRequest) -> HttpResponse:
    confirmed = sign_out_confirmed(request.session, request.GET.get("state"))
    return render(request, "portal/signed_out.html", {"state_mismatch": confirmed is False})
