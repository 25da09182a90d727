"""Which roles require MFA: the user guide's role table, as data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Requirement(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"


# Strictest first: when a person holds several roles, the strictest requirement wins.
_STRICTNESS = (Requirement.REQUIRED, Requirement.OPTIONAL)


class RoleScope(StrEnum):
    """Where a role applies: AiDial's own staff act across every organisation; everyone else
    only in the organisations in which they hold the role."""

    GLOBAL = "global"
    ORGANISATION = "organisation"


@dataclass(frozen=True)
class Role:
    title: str
    requirement: Requirement
    scope: RoleScope
    administrator: bool = False  # sees the accounts and security events within its scope


_REQUIRED, _OPTIONAL = Requirement.REQUIRED, Requirement.OPTIONAL
_GLOBAL, _ORGANISATION = RoleScope.GLOBAL, RoleScope.ORGANISATION

# The user guide's role table, in its order: the one place to add a role or change its default
# requirement. The MFA policy, the report permissions and the Help page all read it; a role
# missing from it has no requirement, no title and no permissions (it fails closed).
ROLES: Mapping[str, Role] = MappingProxyType(
    {
        "client_admin": Role("Client Administrator", _OPTIONAL, _ORGANISATION, administrator=True),
        "partner_admin": Role(
            "Partner Administrator", _REQUIRED, _ORGANISATION, administrator=True
        ),
        "aidial_admin": Role("AiDial Administrator", _REQUIRED, _GLOBAL, administrator=True),
        "aidial_operator": Role("AiDial Operator", _REQUIRED, _GLOBAL, administrator=True),
        "client_manager": Role("Client Manager", _OPTIONAL, _ORGANISATION),
        "client_staff": Role("Client Staff", _OPTIONAL, _ORGANISATION),
        "partner_user": Role("Partner User", _OPTIONAL, _ORGANISATION),
    }
)

ROLE_REQUIREMENTS: Mapping[str, Requirement] = MappingProxyType(
    {key: role.requirement for key, role in ROLES.items()}
)

ROLE_TITLES: Mapping[str, str] = MappingProxyType({key: role.title for key, role in ROLES.items()})


@dataclass(frozen=True)
class RoleSet:
    """The portal roles a person holds, and the roles the provider sent that we do not know."""

    known: tuple[str, ...]
    unknown: tuple[str, ...]


def parse_table(raw: Mapping[str, str]) -> Mapping[str, Requirement]:
    """Turn a settings override into a table; an unknown requirement raises ValueError."""
    return MappingProxyType({role: Requirement(value) for role, value in raw.items()})


def role_table(overrides: Mapping[str, str]) -> Mapping[str, Requirement]:
    """The user guide's table with a deployment's overrides (checked at start-up)."""
    return MappingProxyType({**ROLE_REQUIREMENTS, **parse_table(overrides)})


def split_roles(roles: Iterable[str], table: Mapping[str, Requirement]) -> RoleSet:
    unique = sorted(set(roles))
    return RoleSet(
        known=tuple(role for role in unique if role in table),
        unknown=tuple(role for role in unique if role not in table),
    )


def requirement_for(roles: Iterable[str], table: Mapping[str, Requirement]) -> Requirement | None:
    """The strictest requirement among the roles held; None when no portal role is held.

    Roles missing from the table are ignored here; the caller logs them.
    """
    held = {table[role] for role in roles if role in table}
    for requirement in _STRICTNESS:
        if requirement in held:
            return requirement
    return None
