"""Signing out as Zitadel's Login V2 does (OpenID Connect RP-Initiated Logout).

* With a valid ``id_token_hint`` (signed by this provider; ``client_id``, if sent, must be the
  hint's ``azp``) the session named by the hint ends, and the browser goes to the registered
  ``post_logout_redirect_uri`` with ``state``.
* Without a hint nothing ends: the browser lands on a logout page where the person may choose
  to sign out.
* A ``post_logout_redirect_uri`` that is not registered for the client is an error page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from local_idp import config, keys, logout, signin
from local_idp.models import Client
from local_idp.views.common import error_page

LOGOUT_PAGE = "/ui/v2/login/logout"
INVALID = "The sign-out request is not valid"


class SignOutError(Exception):
    """What is wrong with a sign-out request, in words for the error page."""


@dataclass
class SignOutRequest:
    client: Client | None
    target: str  # where to go afterwards ("" for the provider's own signed-out page)
    hint_claims: dict[str, Any] | None


def _with_state(uri: str, state: str) -> str:
    if not state:
        return uri
    parts = urlsplit(uri)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"state": state})))


def _hint_claims(hint: str) -> dict[str, Any]:
    """The claims of an ID token this provider signed (an expired one is still a hint)."""
    try:
        token = jwt.decode(
            hint,
            KeySet.import_key_set(keys.public_jwks()),  # type: ignore[arg-type]
            algorithms=["RS256"],
        )
    except (JoseError, ValueError) as error:
        raise SignOutError("The ID token hint is not valid.") from error
    claims = dict(token.claims)
    if claims.get("iss") != config.issuer() or not claims.get("azp"):
        raise SignOutError("The ID token hint was not issued here.")
    return claims


def parse(params: QueryDict) -> SignOutRequest:
    hint = params.get("id_token_hint", "")
    client_id = params.get("client_id", "")
    uri = params.get("post_logout_redirect_uri", "")
    hint_claims = _hint_claims(hint) if hint else None
    if hint_claims is not None:
        if client_id and client_id != hint_claims["azp"]:
            raise SignOutError("The client_id does not match the ID token hint.")
        client_id = str(hint_claims["azp"])
    client = Client.objects.filter(client_id=client_id).first() if client_id else None
    if client_id and client is None:
        raise SignOutError("The application is not known here.")
    if uri and (client is None or uri not in client.post_logout_redirect_uris):
        raise SignOutError(
            "The address to return to after signing out is not registered for this application."
        )
    target = _with_state(uri, params.get("state", "")) if uri else ""
    return SignOutRequest(client, target, hint_claims)


def _logout_page_target(params: QueryDict) -> str:
    """Where the logout page returns to: Zitadel hands Login V2 only `post_logout_redirect`,
    the checked return address with `state` already on it. It is believed only when its
    address (without the query) is registered for an application here."""
    target = params.get("post_logout_redirect", "")
    if not target:
        return ""
    address = target.split("?", 1)[0]
    registered = any(address in client.post_logout_redirect_uris for client in Client.objects.all())
    if not registered:
        raise SignOutError(
            "The address to return to after signing out is not registered for any application."
        )
    return target


def _finish(request: HttpRequest, target: str) -> HttpResponse:
    if target:
        return redirect(target)
    return render(request, "local_idp/signed_out.html")


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def end_session(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    try:
        sign_out = parse(params)
    except SignOutError as error:
        return error_page(request, INVALID, str(error))
    if sign_out.hint_claims is None:
        # Login V2 without a hint: nothing ends here; the person chooses on the logout page,
        # which Zitadel opens as DefaultLogoutURLV2 (`/ui/v2/login/logout?post_logout_redirect=`)
        # followed by the return address with its state (internal/api/oidc integration tests).
        if not sign_out.target:
            return redirect(LOGOUT_PAGE)
        return redirect(f"{LOGOUT_PAGE}?{urlencode({'post_logout_redirect': sign_out.target})}")
    sid = str(sign_out.hint_claims.get("sid") or "")
    current = signin.current_session(request)
    if sid:
        logout.end_sessions([sid])
    if current is not None and current.pk == sid:
        request.session.flush()
    return _finish(request, sign_out.target)


@never_cache
@require_http_methods(["GET", "POST"])
def logout_page(request: HttpRequest) -> HttpResponse:
    """Shows who is signed in; signing out is the person's choice (a POST with CSRF)."""
    params = request.POST if request.method == "POST" else request.GET
    try:
        target = _logout_page_target(params)
    except SignOutError as error:
        return error_page(request, INVALID, str(error))
    if request.method == "POST":
        signin.sign_out(request)
        return _finish(request, target)
    session = signin.current_session(request)
    fields = {"post_logout_redirect": target} if target else {}
    return render(
        request,
        "local_idp/logout.html",
        {"session": session, "fields": fields, "target": target},
    )
