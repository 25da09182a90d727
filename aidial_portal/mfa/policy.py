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

ROLE_REQUIREMENTS: Mapping[str, Requirement] = MappingProxyType(
    {
        "client_admin": Requirement.OPTIONAL,
        "partner_admin": Requirement.REQUIRED,
        "aidial_admin": Requirement.REQUIRED,
        "aidial_operator": Requirement.REQUIRED,
        "client_manager": Requirement.OPTIONAL,
        "client_staff": Requirement.OPTIONAL,
        "partner_user": Requirement.OPTIONAL,
    }
)

ROLE_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "client_admin": "Client Administrator",
        "partner_admin": "Partner Administrator",
        "aidial_admin": "AiDial Administrator",
        "aidial_operator": "AiDial Operator",
        "client_manager": "Client Manager",
        "client_staff": "Client Staff",
        "partner_user": "Partner User",
    }
)


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
