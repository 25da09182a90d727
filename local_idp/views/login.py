"""The hosted sign-in: login name and password, then the second factor or the MFA-init prompt."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from local_idp import factors, signin
from local_idp.models import User
from local_idp.views.common import error_page

WRONG_CREDENTIALS = "The login name or password is not correct."
WRONG_CODE = (
    "The code is not valid. Enter the current code from your authenticator app (each code "
    "works once: if you have just used it, wait for the next one), or an unused recovery code."
)
LOCKED_OUT = "Too many failed attempts for this login name. Wait five minutes, then try again."


def _expired(request: HttpRequest) -> HttpResponse:
    return error_page(
        request, "This sign-in has expired", "Go back to the application and sign in again."
    )


@never_cache
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:  # noqa: PLR0911 - one return per outcome
    intent_id = request.GET.get("authRequestID", "")
    intent = signin.get_intent(request, intent_id)
    if intent is None:
        return _expired(request)
    context = {"intent_id": intent_id, "login_name": intent.get("login_hint", ""), "error": ""}
    if request.method == "GET":
        return render(request, "local_idp/login.html", context)

    login_name = request.POST.get("loginName", "").strip()
    password = request.POST.get("password", "")
    context["login_name"] = login_name
    if not login_name or not password:
        context["error"] = "Enter your login name and password."
        return render(request, "local_idp/login.html", context, status=400)
    if factors.is_locked_out(login_name):
        context["error"] = LOCKED_OUT
        return render(request, "local_idp/login.html", context, status=429)
    user = factors.check_login_password(login_name, password)
    if user is None:
        context["error"] = WRONG_CREDENTIALS
        return render(request, "local_idp/login.html", context, status=401)

    now = timezone.now()
    query = urlencode({"authRequestID": intent_id})
    if user.has_second_factor:
        signin.set_pending(request, intent_id, user, now)
        return redirect(f"/ui/login/mfa/verify?{query}")
    session = factors.start_session(user, now, None, now)
    signin.complete_sign_in(request, intent_id, session)
    if intent["kind"] == signin.AUTHORIZE:
        # Zitadel's MFA-init prompt: offer set-up, allow skipping.
        return redirect(f"/ui/login/mfa/prompt?{query}")
    return redirect(signin.finish_url(request, intent_id))


# The second factors a sign-in can be completed with, by their name in the URL.
METHODS = {
    "totp": factors.SecondFactor.TOTP,
    "sms": factors.SecondFactor.OTP_SMS,
    "email": factors.SecondFactor.OTP_EMAIL,
    "passkey": factors.SecondFactor.PASSKEY,
    "security_key": factors.SecondFactor.SECURITY_KEY,
}
# WebAuthn cannot run in a headless test browser: pressing the button stands in for the
# authenticator's answer (this provider is for development and tests only).
WEBAUTHN_METHODS = frozenset({"passkey", "security_key"})
WRONG_OTP_CODE = "The code is not valid. Enter the latest code we sent you, within five minutes."


def _methods(user: User) -> list[str]:
    available = []
    if user.has_totp:
        available.append("totp")
    if user.otp_sms:
        available.append("sms")
    if user.otp_email:
        available.append("email")
    if user.passkey:
        available.append("passkey")
    if user.security_key:
        available.append("security_key")
    return available


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:  # noqa: PLR0911 - one return per outcome
    intent_id = request.GET.get("authRequestID", "")
    pending = signin.get_pending(request, intent_id)
    if pending is None or signin.get_intent(request, intent_id) is None:
        return _expired(request)
    user, password_at = pending
    available = _methods(user)
    if not available:
        return _expired(request)
    method = request.GET.get("method", "")
    if method not in available:
        method = available[0]
    factor = METHODS[method]
    context = {
        "intent_id": intent_id,
        "login_name": user.login_name,
        "error": "",
        "method": method,
        "others": [m for m in available if m != method],
        "destination": factors.otp_destination(user, factor) if method in ("sms", "email") else "",
    }
    if request.method == "GET":
        if method not in WEBAUTHN_METHODS and method != "totp":
            factors.send_otp_code(user, factor, "sign-in")
        return render(request, "local_idp/mfa_verify.html", context)
    if method in WEBAUTHN_METHODS:
        session = factors.start_session(user, password_at, factor, timezone.now())
        signin.complete_sign_in(request, intent_id, session)
        return redirect(signin.finish_url(request, intent_id))

    if factors.is_locked_out(user.login_name):
        context["error"] = LOCKED_OUT
        return render(request, "local_idp/mfa_verify.html", context, status=429)
    code = request.POST.get("code", "")
    if method == "totp":
        check = factors.check_second_factor(user, code)
    else:
        check = factors.check_otp(user, factor, code)
    if check.factor is None:
        context["error"] = WRONG_CODE if method == "totp" else WRONG_OTP_CODE
        return render(request, "local_idp/mfa_verify.html", context, status=401)
    session = factors.start_session(user, password_at, check.factor, timezone.now())
    signin.complete_sign_in(request, intent_id, session)
    return redirect(signin.finish_url(request, intent_id))


@never_cache
@require_http_methods(["GET", "POST"])
def mfa_prompt(request: HttpRequest) -> HttpResponse:
    intent_id = request.GET.get("authRequestID", "")
    session = signin.current_session(request)
    if session is None or signin.get_intent(request, intent_id) is None:
        return _expired(request)
    if request.method == "POST" and request.POST.get("action") == "setup":
        return redirect("/ui/console/users/me/totp?" + urlencode({"authRequestID": intent_id}))
    if request.method == "POST":
        return redirect(signin.finish_url(request, intent_id))
    return render(
        request,
        "local_idp/mfa_prompt.html",
        {"intent_id": intent_id, "login_name": session.user.login_name},
    )
