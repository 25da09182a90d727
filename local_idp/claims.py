"""Scopes and user claims, shaped and placed as Zitadel issues them.

* Unknown scopes are dropped silently. ``urn:zitadel:iam:org:project:roles`` is a *claim*
  name, not a scope: it is dropped like any other unknown value.
* Roles are asserted only for ``urn:zitadel:iam:org:project:role:<key>`` scopes (those roles),
  for ``urn:zitadel:iam:org:projects:roles`` together with the project's audience scope
  ``urn:zitadel:iam:org:project:id:<projectId>:aud``, or when the project asserts roles on
  authentication.
* Roles reach the ID token only with the application's "User roles inside ID Token" setting,
  profile claims only with "User Info inside ID Token"; both are off by default, so by default
  they are served by the userinfo endpoint only.
"""

from __future__ import annotations

from typing import Any

from local_idp.models import Grant, Project, User

ROLES_CLAIM = "urn:zitadel:iam:org:project:roles"
PROJECTS_ROLES_SCOPE = "urn:zitadel:iam:org:projects:roles"
ROLE_SCOPE_PREFIX = "urn:zitadel:iam:org:project:role:"
PROJECT_AUDIENCE_PREFIX = "urn:zitadel:iam:org:project:id:"
PROJECT_AUDIENCE_SUFFIX = ":aud"
ZITADEL_API_AUDIENCE_SCOPE = "urn:zitadel:iam:org:project:id:zitadel:aud"
RESOURCE_OWNER_SCOPE = "urn:zitadel:iam:user:resourceowner"
STATIC_SCOPES = (
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
    PROJECTS_ROLES_SCOPE,
    RESOURCE_OWNER_SCOPE,
    "urn:zitadel:iam:user:metadata",
    ZITADEL_API_AUDIENCE_SCOPE,
)
# Zitadel accepts these with a value appended.
DYNAMIC_SCOPE_PREFIXES = (
    ROLE_SCOPE_PREFIX,
    "urn:zitadel:iam:org:id:",
    "urn:zitadel:iam:org:domain:primary:",
)


def _is_project_audience(scope: str) -> bool:
    return (
        scope.startswith(PROJECT_AUDIENCE_PREFIX)
        and scope.endswith(PROJECT_AUDIENCE_SUFFIX)
        and len(scope) > len(PROJECT_AUDIENCE_PREFIX) + len(PROJECT_AUDIENCE_SUFFIX)
    )


def _is_known(scope: str) -> bool:
    if scope in STATIC_SCOPES or _is_project_audience(scope):
        return True
    return any(
        scope.startswith(prefix) and len(scope) > len(prefix) for prefix in DYNAMIC_SCOPE_PREFIXES
    )


def allowed_scopes(requested: str) -> list[str]:
    """The requested scopes Zitadel knows; anything else is dropped without an error."""
    allowed: list[str] = []
    for scope in requested.split():
        if _is_known(scope) and scope not in allowed:
            allowed.append(scope)
    return allowed


def _role_filter(scopes: set[str], project: Project) -> set[str] | None:
    """Which roles are asserted: ``None`` for none at all, an empty set for every role."""
    requested = {s[len(ROLE_SCOPE_PREFIX) :] for s in scopes if s.startswith(ROLE_SCOPE_PREFIX)}
    project_audience = f"{PROJECT_AUDIENCE_PREFIX}{project.id}{PROJECT_AUDIENCE_SUFFIX}"
    all_roles = PROJECTS_ROLES_SCOPE in scopes and project_audience in scopes
    if requested or all_roles or project.assert_roles:
        # Role scopes narrow the answer to those roles, as in Zitadel.
        return requested
    return None


def roles_claim(user: User, only: set[str] | None = None) -> dict[str, dict[str, str]]:
    """``{role: {orgId: primaryDomain, ...}}``: every (role, organisation) grant of the user."""
    roles: dict[str, dict[str, str]] = {}
    grants = Grant.objects.filter(user=user).select_related("organization").order_by("id")
    for grant in grants:
        if only and grant.role not in only:
            continue
        org = grant.organization
        roles.setdefault(grant.role, {})[org.id] = org.primary_domain
    return roles


def _profile_claims(user: User, scopes: set[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        claims["name"] = user.display_name
        claims["preferred_username"] = user.login_name
        claims["updated_at"] = int(user.created_at.timestamp())
    if "email" in scopes:
        claims["email"] = user.email
        claims["email_verified"] = user.email_verified
    if "phone" in scopes and user.phone:
        claims["phone_number"] = user.phone
        claims["phone_number_verified"] = True
    if RESOURCE_OWNER_SCOPE in scopes:
        org = user.organization
        claims["urn:zitadel:iam:user:resourceowner:id"] = org.id
        claims["urn:zitadel:iam:user:resourceowner:name"] = org.name
        claims["urn:zitadel:iam:user:resourceowner:primary_domain"] = org.primary_domain
    return claims


def _role_claims(user: User, scopes: set[str], project: Project) -> dict[str, Any]:
    only = _role_filter(scopes, project)
    if only is None:
        return {}
    roles = roles_claim(user, only)
    if not roles:
        return {}
    return {ROLES_CLAIM: roles, f"urn:zitadel:iam:org:project:{project.id}:roles": roles}


def userinfo_claims(user: User, scope: str, project: Project) -> dict[str, Any]:
    """What ``/oidc/v1/userinfo`` answers for an access token with ``scope``."""
    scopes = set(scope.split())
    return {"sub": user.id, **_profile_claims(user, scopes), **_role_claims(user, scopes, project)}


def id_token_user_claims(
    user: User, scope: str, project: Project, *, roles: bool, userinfo: bool
) -> dict[str, Any]:
    """The user claims of an ID token, given the application's two assertion settings."""
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": user.id}
    if userinfo:
        claims.update(_profile_claims(user, scopes))
    if roles:
        claims.update(_role_claims(user, scopes, project))
    return claims
