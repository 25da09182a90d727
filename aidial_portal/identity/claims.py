"""Who signed in, as Zitadel says: profile and role grants, from the ID token or userinfo.

With Zitadel's default application settings ("User roles inside ID Token" and "User Info
inside ID Token" both off) the ID token carries neither; they are in userinfo. So each is read
from the ID token when it is there, and otherwise from userinfo (fetched with the access token
at the callback). Userinfo is only believed for the ID token's own subject.

Roles come as `{"<roleKey>": {"<orgId>": "<org primary domain>", ...}}` under
`urn:zitadel:iam:org:project:roles` and under `urn:zitadel:iam:org:project:<projectId>:roles`.
One role can be held in several organisations: each (role, organisation) pair is one `Grant`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

ROLES_CLAIM: Final = "urn:zitadel:iam:org:project:roles"
PROFILE_CLAIMS: Final = ("preferred_username", "email", "name")
MAX_TEXT: Final = 255


@dataclass(frozen=True, order=True)
class Grant:
    """One role held in one organisation."""

    role: str
    org_id: str
    org_domain: str = ""

    def to_list(self) -> list[str]:
        return [self.role, self.org_id, self.org_domain]

    @classmethod
    def from_list(cls, value: Any) -> Grant:
        """The session's and the database's form; ValueError when it is not one."""
        if (
            not isinstance(value, list | tuple)
            or len(value) != 3
            or not all(isinstance(item, str) for item in value)
            or not value[0]
            or not value[1]
        ):
            raise ValueError("not a grant")
        return cls(value[0], value[1], value[2])


@dataclass(frozen=True)
class Profile:
    """What the portal shows and records about a person; none of it decides access."""

    login_name: str = ""
    email: str = ""
    name: str = ""


def roles_claim_names(project_id: str) -> tuple[str, ...]:
    names = [ROLES_CLAIM]
    if project_id:
        names.append(f"urn:zitadel:iam:org:project:{project_id}:roles")
    return tuple(names)


def has_roles(claims: Mapping[str, Any], project_id: str) -> bool:
    return any(name in claims for name in roles_claim_names(project_id))


def has_profile(claims: Mapping[str, Any]) -> bool:
    return any(name in claims for name in PROFILE_CLAIMS)


def grants_of(claims: Mapping[str, Any], project_id: str = "") -> tuple[Grant, ...]:
    """Every (role, organisation) pair, sorted; malformed entries are left out."""
    found: set[Grant] = set()
    for name in roles_claim_names(project_id):
        roles = claims.get(name)
        if not isinstance(roles, dict):
            continue
        for role, organisations in roles.items():
            if not isinstance(role, str) or not role or not isinstance(organisations, dict):
                continue
            for org_id, domain in organisations.items():
                if isinstance(org_id, str) and org_id:
                    found.add(Grant(role, org_id, _text(domain)))
    return tuple(sorted(found))


def profile_of(claims: Mapping[str, Any]) -> Profile:
    return Profile(
        login_name=_text(claims.get("preferred_username")),
        email=_text(claims.get("email")),
        name=_text(claims.get("name")),
    )


def roles(grants: Iterable[Grant]) -> tuple[str, ...]:
    """The distinct role keys held, in any organisation."""
    return tuple(sorted({grant.role for grant in grants}))


def _text(value: Any) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""
