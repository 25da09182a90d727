"""Forward auth's decision, apart from any request: what the proxy asked, and the answer.

A reverse proxy asks `/auth/forward/` before each request to another AiDial service. This
module reads what it asked (the original URL from its headers, the route's requirements from
the query string) and decides from the session's sign-in alone; the view
(`web/views/forward_auth.py`) turns the decision's reason into a response.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aidial_portal.accounts.session_state import CurrentSignIn
from aidial_portal.config import host_allowed
from aidial_portal.mfa.compliance import Reason
from aidial_portal.web.redirects import safe_target

# The longest `max_age` a route may ask for: a year (a typo of many digits is refused).
MAX_ROUTE_MAX_AGE = 366 * 24 * 60 * 60


class Refusal(StrEnum):
    """Why forward auth said no: the Prometheus label, and the key of the response."""

    # The request itself (400): the proxy is misconfigured.
    BAD_REQUIREMENT = "bad_requirement"
    NO_ORIGINAL_URL = "no_original_url"
    # Who asked, and for what (403, nothing to fix by signing in).
    UNTRUSTED_PROXY = "untrusted_proxy"
    HOST_NOT_LISTED = "host_not_listed"
    # The person: sign in (401), or fix their status (403).
    SIGNED_OUT = "signed_out"
    SESSION_ENDED = "session_ended"
    NO_PORTAL_ROLE = "no_portal_role"
    ROLE_MISSING = "role_missing"
    NOT_ENROLLED = Reason.NOT_ENROLLED.value
    CHALLENGE_NOT_SATISFIED = Reason.CHALLENGE_NOT_SATISFIED.value
    MFA_STALE = Reason.MFA_STALE.value
    EVIDENCE_UNAVAILABLE = Reason.EVIDENCE_UNAVAILABLE.value
    PHISHING_RESISTANT_REQUIRED = Reason.PHISHING_RESISTANT_REQUIRED.value
    MFA_NOT_RECENT = "mfa_not_recent"


class Fix(StrEnum):
    """Where a person can put a refusal right (the redirect of Traefik/Caddy style)."""

    SIGN_IN = "sign_in"
    SETTINGS = "settings"
    RECENT_CHECK = "recent_check"
    ROLE = "role"
    NO_ACCESS = "no_access"


FIXES: Mapping[Refusal, Fix] = {
    Refusal.SIGNED_OUT: Fix.SIGN_IN,
    Refusal.SESSION_ENDED: Fix.SIGN_IN,
    Refusal.NO_PORTAL_ROLE: Fix.NO_ACCESS,
    Refusal.ROLE_MISSING: Fix.ROLE,
    Refusal.NOT_ENROLLED: Fix.SETTINGS,
    Refusal.CHALLENGE_NOT_SATISFIED: Fix.SETTINGS,
    Refusal.MFA_STALE: Fix.SETTINGS,
    Refusal.EVIDENCE_UNAVAILABLE: Fix.SETTINGS,
    Refusal.PHISHING_RESISTANT_REQUIRED: Fix.SETTINGS,
    Refusal.MFA_NOT_RECENT: Fix.RECENT_CHECK,
}


class BadForwardRequest(ValueError):
    """The proxy's request cannot be answered; the message says why (shown to the operator)."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal


@dataclass(frozen=True)
class RouteRequirement:
    """From the auth URL's query string: `role=a,b` (any of them) and `max_age=SECONDS`."""

    roles: frozenset[str] = frozenset()
    max_age: int | None = None


@dataclass(frozen=True)
class OriginalRequest:
    url: str
    # Traefik and Caddy (X-Forwarded-Uri) pass a refusal's redirect to the browser; nginx
    # (X-Original-URL) wants 401/403 and redirects itself.
    redirect_style: bool


def parse_requirement(
    query: Mapping[str, Sequence[str]], known_roles: Collection[str]
) -> RouteRequirement:
    """Every parameter is known and well formed, or the request is refused: a typo in a proxy's
    configuration must never loosen what a route asks for."""
    for name, values in query.items():
        if name not in {"role", "max_age", "level"}:
            raise _bad(f"unknown parameter {name!r}: the parameters are role= and max_age=")
        if len(values) != 1:
            raise _bad(f"{name}= given {len(values)} times: give it once")
    if "level" in query:
        raise _bad("level= is not supported yet: this portal has no assurance levels")
    roles: frozenset[str] = frozenset()
    if "role" in query:
        names = [name.strip() for name in query["role"][0].split(",")]
        unknown = sorted(name for name in names if name not in known_roles)
        if not all(names) or unknown:
            raise _bad(
                "role= must be comma-separated portal roles"
                + (f"; unknown: {', '.join(repr(name) for name in unknown)}" if unknown else "")
            )
        roles = frozenset(names)
    max_age = None
    if "max_age" in query:
        raw = query["max_age"][0]
        if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ROUTE_MAX_AGE:
            raise _bad(f"max_age= must be a whole number of seconds from 1 to {MAX_ROUTE_MAX_AGE}")
        max_age = int(raw)
    return RouteRequirement(roles=roles, max_age=max_age)


def original_request(headers: Mapping[str, str], hosts: Collection[str]) -> OriginalRequest:
    """The URL the person asked the proxy for, on a listed host."""
    uri = headers.get("X-Forwarded-Uri")
    if uri is not None:
        proto = headers.get("X-Forwarded-Proto", "")
        host = headers.get("X-Forwarded-Host", "")
        if proto not in {"http", "https"} or not host or "," in host or not uri.startswith("/"):
            raise BadForwardRequest(
                Refusal.NO_ORIGINAL_URL,
                "X-Forwarded-Uri needs X-Forwarded-Proto (http or https) and one X-Forwarded-Host",
            )
        url = f"{proto}://{host}{uri}"
    else:
        url = headers.get("X-Original-URL", "")
        if not url:
            raise BadForwardRequest(
                Refusal.NO_ORIGINAL_URL,
                "no original request: send X-Original-URL (nginx) or X-Forwarded-Proto, "
                "X-Forwarded-Host and X-Forwarded-Uri (Traefik, Caddy)",
            )
    if safe_target(url, hosts) is None or url.startswith("/"):
        if host_allowed(_host_of(url), hosts):
            raise BadForwardRequest(Refusal.NO_ORIGINAL_URL, "the original URL is malformed")
        raise BadForwardRequest(Refusal.HOST_NOT_LISTED, "host not in AIDIAL_FORWARD_AUTH_HOSTS")
    return OriginalRequest(url=url, redirect_style=uri is not None)


def _host_of(url: str) -> str:
    authority = url.partition("://")[2].split("/", 1)[0]
    return authority.rpartition("@")[2].split(":", 1)[0]


def decide(state: CurrentSignIn | None, route: RouteRequirement, now: datetime) -> Refusal | None:
    """None (granted), or why not. The role is checked before MFA: a person who may not use
    the service at all is not sent to fix their MFA first. MFA is the portal's own decision
    (`CurrentSignIn.compliance`: the role's level and the accepted factors included); an
    enrolment grace period lets a person into the portal, never into another service."""
    if state is None:
        return Refusal.SIGNED_OUT
    if state.requirement is None:
        return Refusal.NO_PORTAL_ROLE
    if route.roles and route.roles.isdisjoint(state.roles):
        return Refusal.ROLE_MISSING
    compliance = state.compliance(now)
    if not compliance.compliant:
        return Refusal((compliance.reason or Reason.EVIDENCE_UNAVAILABLE).value)
    if route.max_age is not None:
        verified_at = state.evidence.verified_at
        if (
            state.evidence.unavailable is not None
            or verified_at is None
            or now - verified_at > timedelta(seconds=route.max_age)
        ):
            return Refusal.MFA_NOT_RECENT
    return None


def _bad(message: str) -> BadForwardRequest:
    return BadForwardRequest(Refusal.BAD_REQUIREMENT, message)
