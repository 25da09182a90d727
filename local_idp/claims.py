"""Scopes and user claims, shaped as Zitadel issues them."""

from __future__ import annotations

from typing import Any

from authlib.oidc.core import UserInfo

from local_idp.models import Project, User

ROLES_SCOPE = "urn:zitadel:iam:org:project:roles"
STATIC_SCOPES = (
    "openid",
    "profile",
    "email",
    ROLES_SCOPE,
    "urn:zitadel:iam:user:resourceowner",
    "urn:zitadel:iam:org:project:id:zitadel:aud",
)
# Zitadel accepts these with an id appended; the provider accepts and ignores them.
DYNAMIC_SCOPE_PREFIXES = ("urn:zitadel:iam:org:id:",)


def allowed_scopes(requested: str) -> list[str]:
    """The requested scopes this provider knows; unknown ones are dropped, as Zitadel does."""
    allowed: list[str] = []
    for scope in requested.split():
        known = scope in STATIC_SCOPES or scope.startswith(DYNAMIC_SCOPE_PREFIXES)
        if known and scope not in allowed:
            allowed.append(scope)
    return allowed


def roles_claim(user: User) -> dict[str, dict[str, str]]:
    org = user.organization
    return {role: {org.id: org.primary_domain} for role in user.roles}


def user_claims(user: User, scope: str, project: Project) -> UserInfo:
    scopes = set(scope.split())
    claims: dict[str, Any] = {"sub": user.id}
    if "profile" in scopes:
        claims["name"] = user.display_name
        claims["preferred_username"] = user.login_name
    if "email" in scopes:
        claims["email"] = user.email
        claims["email_verified"] = user.email_verified
    if ROLES_SCOPE in scopes:
        roles = roles_claim(user)
        claims[ROLES_SCOPE] = roles
        claims[f"urn:zitadel:iam:org:project:{project.id}:roles"] = roles
    if "urn:zitadel:iam:user:resourceowner" in scopes:
        claims["urn:zitadel:iam:user:resourceowner:id"] = user.organization.id
        claims["urn:zitadel:iam:user:resourceowner:name"] = user.organization.name
        claims["urn:zitadel:iam:user:resourceowner:primary_domain"] = (
            user.organization.primary_domain
        )
    return UserInfo(claims)
