"""The Zitadel API subset the portal reads: Session API v2 and authentication methods."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from local_idp import crypto
from local_idp.models import IdpSession, PersonalAccessToken, RecoveryCode, TotpDevice, User
from local_idp.views.common import (
    GRPC_NOT_FOUND,
    GRPC_UNAUTHENTICATED,
    GRPC_UNIMPLEMENTED,
    api_error,
)

View = Callable[..., HttpResponse]


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def get_only(view: View) -> View:
    """Zitadel answers a wrong method with JSON, like every other API error."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in {"GET", "HEAD"}:
            response = api_error(405, GRPC_UNIMPLEMENTED, "Method not allowed.")
            response["Allow"] = "GET, HEAD"
            return response
        return view(request, *args, **kwargs)

    return wrapped


def _authentication_problem(request: HttpRequest) -> str:
    """Why the caller is not authenticated; empty when they are."""
    token = _bearer_token(request)
    if not token:
        return "Authorization header is missing."
    # A personal access token, or an unexpired token from the JWT profile grant.
    known = (
        PersonalAccessToken.objects.filter(
            token_digest=crypto.digest("personal-access-token", token)
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .exists()
    )
    return "" if known else "The token is not valid."


def personal_access_token_required(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        problem = _authentication_problem(request)
        if problem:
            return api_error(401, GRPC_UNAUTHENTICATED, problem)
        return view(request, *args, **kwargs)

    return wrapped


def session_json(session: IdpSession) -> dict[str, Any]:
    user = session.user
    found: dict[str, Any] = {
        "user": {
            "verifiedAt": rfc3339(session.user_verified_at),
            "id": user.id,
            "loginName": user.login_name,
            "displayName": user.display_name,
            "organizationId": user.organization_id,
        }
    }
    # Only the factors checked in this session appear, as in Zitadel.
    if session.password_verified_at:
        found["password"] = {"verifiedAt": rfc3339(session.password_verified_at)}
    if session.totp_verified_at:
        found["totp"] = {"verifiedAt": rfc3339(session.totp_verified_at)}
    if session.recovery_code_verified_at:
        found["recoveryCode"] = {"verifiedAt": rfc3339(session.recovery_code_verified_at)}
    if session.otp_sms_verified_at:
        found["otpSms"] = {"verifiedAt": rfc3339(session.otp_sms_verified_at)}
    if session.otp_email_verified_at:
        found["otpEmail"] = {"verifiedAt": rfc3339(session.otp_email_verified_at)}
    if session.webauthn_verified_at:
        # session.proto `WebAuthNFactor {verified_at, user_verified}`: a passkey (user
        # verification) or a U2F security key (user presence only).
        found["webAuthN"] = {
            "verifiedAt": rfc3339(session.webauthn_verified_at),
            "userVerified": session.webauthn_user_verified,
        }
    return {
        "session": {
            "id": session.id,
            "creationDate": rfc3339(session.created_at),
            "changeDate": rfc3339(session.changed_at),
            "sequence": str(session.sequence),
            "factors": found,
            "expirationDate": rfc3339(session.expires_at),
        }
    }


@csrf_exempt  # a bearer-token API: no cookie, so nothing for CSRF to protect
@get_only
@personal_access_token_required
def get_session(request: HttpRequest, session_id: str) -> HttpResponse:
    session = live_session(session_id)
    if session is None:
        return api_error(404, GRPC_NOT_FOUND, "Session not found.")
    return JsonResponse(session_json(session))


def live_session(session_id: str) -> IdpSession | None:
    """A terminated session is gone (404), as in Zitadel. An expired one is still answered,
    200 with its `expirationDate` in the past: Zitadel's GetSession does not check the
    expiration, it reports it (revalidation reads it)."""
    return (
        IdpSession.objects.filter(pk=session_id, terminated_at__isnull=True)
        .select_related("user")
        .first()
    )


def authentication_methods(user: User) -> list[str]:
    methods: list[str] = []
    if user.password:
        methods.append("AUTHENTICATION_METHOD_TYPE_PASSWORD")
    if TotpDevice.objects.filter(user=user).exists():
        methods.append("AUTHENTICATION_METHOD_TYPE_TOTP")
    if user.otp_sms:
        methods.append("AUTHENTICATION_METHOD_TYPE_OTP_SMS")
    if user.otp_email:
        methods.append("AUTHENTICATION_METHOD_TYPE_OTP_EMAIL")
    if user.passkey:
        methods.append("AUTHENTICATION_METHOD_TYPE_PASSKEY")
    if user.security_key:
        methods.append("AUTHENTICATION_METHOD_TYPE_U2F")
    if RecoveryCode.objects.filter(user=user, used_at__isnull=True).exists():
        methods.append("AUTHENTICATION_METHOD_TYPE_RECOVERY_CODE")
    return methods


@csrf_exempt  # a bearer-token API: no cookie, so nothing for CSRF to protect
@get_only
@personal_access_token_required
def list_authentication_methods(request: HttpRequest, user_id: str) -> HttpResponse:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return api_error(404, GRPC_NOT_FOUND, "User not found.")
    return JsonResponse(methods_json(user))


def methods_json(user: User) -> dict[str, Any]:
    methods = authentication_methods(user)
    return {
        "details": {"totalResult": str(len(methods)), "timestamp": rfc3339(timezone.now())},
        "authMethodTypes": methods,
    }


# Connect paths (what the official SDK calls): POST with a JSON body, Connect-style errors ----
CONNECT_STATUS = {
    "invalid_argument": 400,
    "unauthenticated": 401,
    "not_found": 404,
    "unimplemented": 501,
}


class ConnectError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def connect_error(code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=CONNECT_STATUS[code])


def connect_unary(handler: Callable[[dict[str, Any]], dict[str, Any]]) -> View:
    @csrf_exempt  # a bearer-token API: no cookie, so nothing for CSRF to protect
    @wraps(handler)
    def view(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            response = HttpResponse(status=405)
            response["Allow"] = "POST"
            return response
        problem = _authentication_problem(request)
        if problem:
            return connect_error("unauthenticated", problem)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return connect_error("invalid_argument", "The request body is not JSON.")
        if not isinstance(body, dict):
            return connect_error("invalid_argument", "The request body must be a JSON object.")
        try:
            return JsonResponse(handler(body))
        except ConnectError as error:
            return connect_error(error.code, error.message)

    return view


def _required_id(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value:
        raise ConnectError("invalid_argument", f"{field} is required.")
    return value


@connect_unary
def connect_get_session(body: dict[str, Any]) -> dict[str, Any]:
    session = live_session(_required_id(body, "sessionId"))
    if session is None:
        raise ConnectError("not_found", "Session not found.")
    return session_json(session)


@connect_unary
def connect_list_authentication_method_types(body: dict[str, Any]) -> dict[str, Any]:
    user = User.objects.filter(pk=_required_id(body, "userId")).first()
    if user is None:
        raise ConnectError("not_found", "User not found.")
    return methods_json(user)
