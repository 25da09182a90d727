"""`/auth/forward/`: the portal's MFA decision for AiDial's other services.

A reverse proxy (nginx `auth_request`, Traefik `ForwardAuth`, Caddy `forward_auth`) asks before
each request. The answer comes from the session alone, like the gate's: no query beyond reading
the session, no network call (a benchmark proves it). A grant is not logged or recorded; each
refusal is counted in Prometheus by reason (security events are written by portal pages).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from aidial_portal import metrics
from aidial_portal.accounts.session_state import (
    SignedIn,
    SignInRequest,
    current_role_table,
)
from aidial_portal.config import is_loopback
from aidial_portal.mfa.evidence import FACTOR_TITLES
from aidial_portal.sessions.lifetime import ended_by, touch
from aidial_portal.web.access import compliance_exempt, public, signed_in
from aidial_portal.web.forward_decision import (
    FIXES,
    BadForwardRequest,
    Fix,
    Refusal,
    RouteRequirement,
    decide,
    original_request,
    parse_requirement,
)
from aidial_portal.web.headers import private
from aidial_portal.web.problems import PROBLEM_TYPE
from aidial_portal.web.redirects import safe_next

# nginx's auth_request passes only 2xx, 401 and 403 on; the snippet redirects to this header.
REDIRECT_HEADER = "X-AiDial-Redirect"
FIX_ROUTES = {
    Fix.SIGN_IN: "login",
    Fix.SETTINGS: "settings",
    Fix.RECENT_CHECK: "forward-auth-step",
    Fix.ROLE: "forward-auth-step",
    Fix.NO_ACCESS: "no-access",
}
# Printable ASCII other than "%" stays as it is in a header value; the rest is percent-encoded
# UTF-8, so that a name can never split a header or be read two ways.
_HEADER_SAFE = "".join(chr(code) for code in range(0x20, 0x7F) if chr(code) != "%")


@public
@require_http_methods(["GET", "HEAD"])
def forward_auth(request: SignInRequest) -> HttpResponse:
    config = settings.AIDIAL
    if not (config.trust_proxy or is_loopback(request.META.get("REMOTE_ADDR", ""))):
        # Anyone could send X-Original-URL; only a proxy the operator vouches for is believed.
        return _refuse(
            Refusal.UNTRUSTED_PROXY, 403, "the request did not come from a trusted proxy"
        )
    try:
        route = parse_requirement(dict(request.GET.lists()), current_role_table())
        original = original_request(request.headers, config.forward_auth_hosts)
    except BadForwardRequest as bad:
        status = 403 if bad.refusal is Refusal.HOST_NOT_LISTED else 400
        return _refuse(bad.refusal, status, str(bad))
    now = timezone.now()
    state = request.sign_in
    if state is not None and ended_by(
        request.session,
        state.signed_in_at,
        now,
        max_age=config.session_max_age,
        idle=config.session_idle_timeout,
    ):
        # Ended here too; the portal's next page removes it and records why.
        refusal: Refusal | None = Refusal.SESSION_ENDED
    else:
        refusal = decide(state, route, now)
    if refusal is not None or state is None:  # decide() refuses a signed-out session
        return _refuse_person(
            refusal or Refusal.SIGNED_OUT, original.url, route, original.redirect_style
        )
    # Work in the protected services is activity: the idle limit counts it, as it counts a
    # portal page (one session save a minute at most, as there).
    touch(request.session, state.signed_in_at, now, config.session_idle_timeout)
    return _grant(state)


def _grant(state: SignedIn) -> HttpResponse:
    response = HttpResponse(status=200, content_type="text/plain")
    evidence = state.evidence
    factor = evidence.recognised_factor if evidence.unavailable is None else None
    identity = {
        "X-AiDial-User": state.subject,
        "X-AiDial-Email": state.email,
        "X-AiDial-Name": state.name,
        "X-AiDial-Roles": ",".join(sorted(state.roles)),
        "X-AiDial-Organisations": ",".join(sorted({grant.org_id for grant in state.grants})),
        "X-AiDial-MFA": factor.value if factor else "none",
        "X-AiDial-Auth-Time": str(int((state.auth_time or state.signed_in_at).timestamp())),
    }
    for name, value in identity.items():
        plain = value.isascii() and value.isprintable() and "%" not in value
        response[name] = value if plain else quote(value, safe=_HEADER_SAFE)
    return response


def _refuse(refusal: Refusal, status: int, detail: str) -> HttpResponse:
    metrics.FORWARD_AUTH_REFUSALS.labels(reason=refusal.value).inc()
    body = {"type": "about:blank", "title": "Forward auth refused", "status": status}
    return JsonResponse(
        {**body, "reason": refusal.value, "detail": detail},
        status=status,
        content_type=PROBLEM_TYPE,
    )


def _refuse_person(
    refusal: Refusal, url: str, route: RouteRequirement, redirect_style: bool
) -> HttpResponse:
    fix = FIXES[refusal]
    target = _fix_url(fix, url, route)
    if redirect_style:
        metrics.FORWARD_AUTH_REFUSALS.labels(reason=refusal.value).inc()
        return HttpResponseRedirect(target)
    status = 401 if fix is Fix.SIGN_IN else 403
    response = _refuse(refusal, status, "sign in first" if status == 401 else "not allowed")
    response[REDIRECT_HEADER] = target
    return response


def _fix_url(fix: Fix, url: str, route: RouteRequirement) -> str:
    """The portal page where the person puts it right, absolute (the browser is on another
    host), bringing them back to `url` afterwards."""
    base = urlsplit(settings.AIDIAL.base_url)
    query: dict[str, str | int] = {"next": url}
    if fix is Fix.NO_ACCESS:
        query = {}
    elif fix is Fix.RECENT_CHECK:
        query["why"] = "recent"
        if route.max_age is not None:
            query["max_age"] = route.max_age
    elif fix is Fix.ROLE:
        query.update(why="role", roles=",".join(sorted(route.roles)))
    path = reverse(FIX_ROUTES[fix])
    return f"{base.scheme}://{base.netloc}{path}" + (f"?{urlencode(query)}" if query else "")


@compliance_exempt
@require_GET
def step_needed(request: SignInRequest) -> HttpResponse:
    """Where a refused service sends a person who needs a recent multi-factor check
    (`why=recent`: Refresh security status, which returns to `next`) or another role."""
    why = request.GET.get("why", "")
    if why not in {"recent", "role"}:
        return HttpResponse("Unknown step.\n", status=400, content_type="text/plain")
    raw_age = request.GET.get("max_age", "")
    minutes = int(raw_age) // 60 if raw_age.isascii() and raw_age.isdigit() else None
    state = signed_in(request)
    factor = state.evidence.recognised_factor
    table = current_role_table()
    roles = [role for role in request.GET.get("roles", "").split(",") if role in table]
    return private(
        render(
            request,
            "portal/forward_step.html",
            {
                "why": why,
                "next": safe_next(request.GET.get("next"), default=""),
                "minutes": minutes,
                "factor": FACTOR_TITLES[factor] if factor else "",
                "roles": roles,
            },
        )
    )
