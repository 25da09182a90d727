"""OpenID Connect endpoints at Zitadel's paths; the protocol itself is Authlib's."""

from __future__ import annotations

import copy
import time
from typing import Any

from authlib.integrations.django_oauth2.resource_protector import return_error_response
from authlib.oauth2 import OAuth2Error
from authlib.oidc.core.errors import LoginRequiredError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from local_idp import claims, config, keys, oauth, service_users, signin
from local_idp.models import IdpSession
from local_idp.views.common import error_page


@require_GET
def discovery(request: HttpRequest) -> JsonResponse:
    issuer = config.issuer()
    return JsonResponse(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/v2/authorize",
            "token_endpoint": f"{issuer}/oauth/v2/token",
            "userinfo_endpoint": f"{issuer}/oidc/v1/userinfo",
            "jwks_uri": f"{issuer}/oauth/v2/keys",
            "end_session_endpoint": f"{issuer}/oidc/v1/end_session",
            # As Zitadel with the instance feature EnableBackChannelLogout on.
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "scopes_supported": list(claims.STATIC_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", service_users.JWT_BEARER],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "iss",
                "sub",
                "aud",
                "azp",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "amr",
                "sid",
                "name",
                "preferred_username",
                "email",
                "email_verified",
                "client_id",
                claims.ROLES_CLAIM,
            ],
            "prompt_values_supported": ["none", "login"],
            "request_parameter_supported": False,
        }
    )


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    return JsonResponse(keys.public_jwks())


def _authorization_error(request: HttpRequest, error: OAuth2Error) -> HttpResponse:
    """Errors go back to the client only once its redirect URI is known to be registered."""
    if error.redirect_uri:
        response: HttpResponse = oauth.server().handle_error_response(None, error)
        return response
    return error_page(
        request, "The sign-in request is not valid", error.description or error.error or ""
    )


def _needs_fresh_sign_in(data: dict[str, Any], session: IdpSession) -> bool:
    if "login" in (data.get("prompt") or "").split():
        return True
    hint = (data.get("login_hint") or "").strip().lower()
    if hint and hint != session.user.login_name.lower():
        # The client asks for another user than the one signed in here.
        return True
    max_age = data.get("max_age")
    if max_age is not None and str(max_age).isdigit():
        return session.auth_time.timestamp() < time.time() - int(max_age)
    return False


def _issue_code(grant: Any, session: IdpSession) -> HttpResponse:
    grant.request.idp_session = session
    response: HttpResponse = oauth.server().create_authorization_response(
        grant.request, grant_user=session.user, grant=grant
    )
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@csrf_exempt
def authorize(request: HttpRequest) -> HttpResponse:
    session = signin.current_session(request)
    try:
        grant = oauth.server().get_consent_grant(
            request, end_user=session.user if session else None
        )
    except OAuth2Error as error:
        return _authorization_error(request, error)
    data: dict[str, Any] = dict(grant.request.payload.data)
    if session is not None and not _needs_fresh_sign_in(data, session):
        return _issue_code(grant, session)
    if "none" in (data.get("prompt") or "").split():
        login_required = LoginRequiredError(redirect_uri=grant.redirect_uri)
        login_required.state = data.get("state")
        return _authorization_error(request, login_required)
    intent_id = signin.new_intent(
        request, signin.AUTHORIZE, query=urlencode(data), login_hint=data.get("login_hint", "")
    )
    return redirect(signin.login_url(intent_id))


@never_cache
@require_GET
def authorize_callback(request: HttpRequest) -> HttpResponse:
    """Resume an authorization request once its sign-in is complete."""
    intent_id = request.GET.get("id", "")
    intent = signin.get_intent(request, intent_id)
    session = signin.current_session(request)
    if (
        intent is None
        or intent["kind"] != signin.AUTHORIZE
        or session is None
        or intent.get("session_id") != session.id
    ):
        return error_page(
            request,
            "This sign-in has expired",
            "Go back to the application and sign in again.",
        )
    signin.pop_intent(request, intent_id)
    resumed = copy.copy(request)
    resumed.GET = QueryDict(intent["query"])
    try:
        grant = oauth.server().get_consent_grant(resumed, end_user=session.user)
    except OAuth2Error as error:
        return _authorization_error(request, error)
    return _issue_code(grant, session)


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    if request.POST.get("grant_type") == service_users.JWT_BEARER:
        return _jwt_profile_grant(request)
    response: HttpResponse = oauth.server().create_token_response(request)
    return response


def _jwt_profile_grant(request: HttpRequest) -> HttpResponse:
    try:
        answer = service_users.jwt_profile_grant(
            request.POST.get("assertion", ""), request.POST.get("scope", "")
        )
    except service_users.GrantError as error:
        refused = JsonResponse(
            {"error": error.error, "error_description": error.description}, status=400
        )
        refused["Cache-Control"] = "no-store"
        return refused
    response = JsonResponse(answer)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def userinfo(request: HttpRequest) -> HttpResponse:
    try:
        access_token = oauth.resource_protector().acquire_token(request, ["openid"])
    except OAuth2Error as error:
        refused: HttpResponse = return_error_response(error)
        return refused
    project = access_token.client.project
    info = claims.userinfo_claims(access_token.user, access_token.scope, project)
    return JsonResponse(info)
