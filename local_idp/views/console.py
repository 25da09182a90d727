"""The self-service security page at Zitadel's console path ``/ui/console/users/me?id=security``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from local_idp import factors, signin
from local_idp.models import IdpSession
from local_idp.views.login import LOCKED_OUT, WRONG_CODE

SECURITY_PAGE = "/ui/console/users/me?id=security"
PENDING_TOTP_KEY = "local_idp.pending_totp_secret"
NOTICE_KEY = "local_idp.notice"
RECENT_SECOND_FACTOR = timedelta(minutes=5)


def _require_session(request: HttpRequest) -> IdpSession | HttpResponse:
    session = signin.current_session(request)
    if session is not None:
        return session
    intent_id = signin.new_intent(request, signin.CONSOLE, next=request.get_full_path())
    return redirect(signin.login_url(intent_id))


def _recent_second_factor(session: IdpSession) -> bool:
    at = session.second_factor_at
    return at is not None and timezone.now() - at < RECENT_SECOND_FACTOR


def _security_context(request: HttpRequest, session: IdpSession, **extra: Any) -> dict[str, Any]:
    user = session.user
    return {
        "login_name": user.login_name,
        "has_totp": user.has_totp,
        "has_otp_sms": user.otp_sms,
        "phone": user.phone,
        "has_otp_email": user.otp_email,
        "email": user.email,
        "recovery_codes_left": factors.unused_recovery_codes(user),
        "needs_code_to_remove": not _recent_second_factor(session),
        "notice": request.session.pop(NOTICE_KEY, ""),
        "error": "",
        **extra,
    }


@never_cache
@require_http_methods(["GET"])
def security(request: HttpRequest) -> HttpResponse:
    session = _require_session(request)
    if isinstance(session, HttpResponse):
        return session
    return render(request, "local_idp/security.html", _security_context(request, session))


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def add_totp(request: HttpRequest) -> HttpResponse:
    session = _require_session(request)
    if isinstance(session, HttpResponse):
        return session
    user = session.user
    intent_id = request.GET.get("authRequestID", "")
    if user.has_totp:
        return redirect(SECURITY_PAGE)
    secret = request.session.get(PENDING_TOTP_KEY) or factors.new_totp_secret()
    request.session[PENDING_TOTP_KEY] = secret
    uri = factors.provisioning_uri(secret, user.login_name)
    qr_svg = segno.make(uri, error="m").svg_inline(
        scale=4, title="QR code for your authenticator app", omitsize=False
    )
    context = {
        "login_name": user.login_name,
        "secret": secret,
        # segno builds the SVG from our own URI; nothing user-supplied is in it unescaped.
        "qr_svg": mark_safe(qr_svg),  # noqa: S308
        "intent_id": intent_id,
        "error": "",
    }
    if request.method == "GET":
        return render(request, "local_idp/totp_setup.html", context)

    step = factors.matching_step(secret, request.POST.get("code", ""), 0)
    if not step:
        context["error"] = "The code is not valid. Enter the current code shown by your app."
        return render(request, "local_idp/totp_setup.html", context, status=400)
    codes = factors.add_totp(user, secret, used_step=step)
    request.session.pop(PENDING_TOTP_KEY, None)
    # Entering a correct code proves the new factor, so this session has checked it.
    factors.record_second_factor(session, factors.SecondFactor.TOTP)
    return _show_recovery_codes(request, codes, intent_id, added_totp=True)


def _show_recovery_codes(
    request: HttpRequest, codes: list[str], intent_id: str, *, added_totp: bool
) -> HttpResponse:
    continue_url = ""
    if intent_id and signin.get_intent(request, intent_id) is not None:
        continue_url = signin.finish_url(request, intent_id)
    response = render(
        request,
        "local_idp/recovery_codes.html",
        {"codes": codes, "added_totp": added_totp, "continue_url": continue_url},
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@require_POST
def regenerate_recovery_codes(request: HttpRequest) -> HttpResponse:
    session = _require_session(request)
    if isinstance(session, HttpResponse):
        return session
    if not session.user.has_totp:
        return redirect(SECURITY_PAGE)
    codes = factors.replace_recovery_codes(session.user)
    return _show_recovery_codes(request, codes, "", added_totp=False)


@never_cache
@sensitive_post_parameters("code")
@require_POST
def remove_totp(request: HttpRequest) -> HttpResponse:
    session = _require_session(request)
    if isinstance(session, HttpResponse):
        return session
    user = session.user
    if not user.has_totp:
        return redirect(SECURITY_PAGE)
    if not _recent_second_factor(session):
        error = ""
        if factors.is_locked_out(user.login_name):
            error = LOCKED_OUT
        else:
            check = factors.check_second_factor(user, request.POST.get("code", ""))
            if check.factor is None:
                error = WRONG_CODE
            else:
                factors.record_second_factor(session, check.factor)
        if error:
            context = _security_context(request, session, error=error)
            return render(request, "local_idp/security.html", context, status=400)
    factors.remove_totp(user)
    request.session[NOTICE_KEY] = (
        "The authenticator app was removed, and with it your recovery codes."
    )
    return redirect(SECURITY_PAGE)


# One-time codes by SMS and e-mail -----------------------------------------------------------
PENDING_OTP_KEY = "local_idp.pending_otp"
OTP_FACTORS = {"sms": factors.SecondFactor.OTP_SMS, "email": factors.SecondFactor.OTP_EMAIL}
OTP_NAMES = {"sms": "SMS codes", "email": "e-mail codes"}
PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$")


@never_cache
@require_POST
def add_otp(request: HttpRequest, channel: str) -> HttpResponse:
    """Start adding SMS or e-mail codes: a code is sent, and entering it confirms."""
    session = _require_session(request)
    if isinstance(session, HttpResponse):
        return session
    user = session.user
    factor = OTP_FACTORS[channel]
    phone = ""
    if channel == "sms":
        phone = request.POST.get("phone", "").replace(" ", "")
        if not PHONE.match(phone):
            context = _security_context(
                request,
                session,
                error="Enter the mobile number in international format, e.g. +61412345678.",
            )
            return render(request, "local_idp/security.html", context, status=400)
    elif not user.email:
        context = _security_context(request, session, error="Your account has no e-mail address.")
        return render(request, "local_idp/security.html", context, status=400)
    factors.send_otp_code(user, factor, "enrolment", to=phone)
    request.session[PENDING_OTP_KEY] = {"channel": channel, "phone": phone}
    return redirect("/ui/console/users/me/otp/verify")


@never_cache
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def verify_otp(request: HttpRequest) -> HttpResponse:
    session = _require_session(request)
    if isinstance(session, HttpResponse):
        return session
    user = session.user
    pending = request.session.get(PENDING_OTP_KEY)
    if not pending or pending.get("channel") not in OTP_FACTORS:
        return redirect(SECURITY_PAGE)
    channel = pending["channel"]
    factor = OTP_FACTORS[channel]
    context = {
        "channel": channel,
        "destination": pending.get("phone") or user.email,
        "error": "",
    }
    if request.method == "GET":
        return render(request, "local_idp/otp_setup.html", context)
    if factors.is_locked_out(user.login_name):
        context["error"] = LOCKED_OUT
        return render(request, "local_idp/otp_setup.html", context, status=429)
    if not factors.use_otp_code(user, factor, request.POST.get("code", "")):
        factors.record_failure(user.login_name)
        context["error"] = "The code is not valid. Enter the latest code we sent you."
        return render(request, "local_idp/otp_setup.html", context, status=400)
    factors.set_otp(user, factor, True, phone=pending.get("phone", ""))
    request.session.pop(PENDING_OTP_KEY, None)
    # Entering a correct code proves the new factor, so this session has checked it.
    factors.record_second_factor(session, factor)
    request.session[NOTICE_KEY] = f"Sign-in with {OTP_NAMES[channel]} is set up."
    return redirect(SECURITY_PAGE)


@never_cache
@require_POST
def remove_otp(request: HttpRequest, channel: str) -> HttpResponse:
    session = _require_session(request)
    if isinstance(session, HttpResponse):
        return session
    if not _recent_second_factor(session):
        context = _security_context(
            request,
            session,
            error="To remove a second factor, sign in again with a code first "
            "(a code checked within the last five minutes).",
        )
        return render(request, "local_idp/security.html", context, status=400)
    factors.set_otp(session.user, OTP_FACTORS[channel], False)
    request.session[NOTICE_KEY] = f"Sign-in with {OTP_NAMES[channel]} was removed."
    return redirect(SECURITY_PAGE)
