"""How strong a role's multi-factor check must be, and which factors an operator accepts.

The user guide's level is `mfa`: any accepted factor. `phishing_resistant` (the Essential
Eight's requirement for privileged users) asks for a passkey or a security key in this very
sign-in: one-time codes can be phished, a WebAuthn assertion is bound to the site's origin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from aidial_portal.mfa.evidence import Factor


class Level(StrEnum):
    MFA = "mfa"
    PHISHING_RESISTANT = "phishing_resistant"


# Strictest first: a person holding several roles needs the strictest level among them.
_STRICTNESS = (Level.PHISHING_RESISTANT, Level.MFA)

LEVEL_TITLES: Mapping[Level, str] = MappingProxyType(
    {
        Level.MFA: "Multi-factor authentication",
        Level.PHISHING_RESISTANT: "Phishing-resistant MFA (passkey or security key)",
    }
)

# Why a role needs its level, in the words Settings uses.
LEVEL_REASONS: Mapping[Level, str] = MappingProxyType(
    {
        Level.MFA: "an authenticator app or a recovery code (or another factor the portal "
        "accepts) in this sign-in.",
        Level.PHISHING_RESISTANT: "a passkey or security key in this sign-in. One-time codes "
        "can be phished; a passkey or security key only answers the real sign-in page, so "
        "privileged roles need one (the Essential Eight asks this of privileged users). An "
        "authenticator app alone is not enough.",
    }
)

PHISHING_RESISTANT_FACTORS = frozenset({Factor.PASSKEY, Factor.SECURITY_KEY})
DEFAULT_ACCEPTED_FACTORS = frozenset({Factor.TOTP, Factor.RECOVERY_CODE})
# The names an operator may list in AIDIAL_ACCEPTED_FACTORS (`otp` is Login V1's reading).
NAMED_FACTORS = (Factor.TOTP, Factor.RECOVERY_CODE, Factor.PASSKEY, Factor.SECURITY_KEY)


def parse_factors(names: Iterable[str]) -> frozenset[Factor]:
    """The accepted factors; an unknown name raises ValueError naming it."""
    known = {factor.value: factor for factor in NAMED_FACTORS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown factor {unknown[0]!r}")
    return frozenset(known[name] for name in names)


def parse_levels(raw: Mapping[str, str]) -> Mapping[str, Level]:
    """`{role: level}` from a setting; an unknown level raises ValueError naming it."""
    levels: dict[str, Level] = {}
    for role, name in raw.items():
        try:
            levels[role] = Level(name)
        except ValueError:
            raise ValueError(f"unknown level {name!r} for role {role!r}") from None
    return MappingProxyType(levels)


def level_for(roles: Iterable[str], levels: Mapping[str, Level]) -> Level:
    """The strictest level among the roles held; `mfa` for a role with no level of its own."""
    held = {levels.get(role, Level.MFA) for role in roles}
    for level in _STRICTNESS:
        if level in held:
            return level
    return Level.MFA


def counted_factors(level: Level, accepted: frozenset[Factor]) -> frozenset[Factor]:
    """The factors whose check in this sign-in satisfies `level`. Login V1's `otp` means "TOTP
    or recovery code", so it counts only when both are accepted."""
    counted = set(accepted)
    if {Factor.TOTP, Factor.RECOVERY_CODE} <= accepted:
        counted.add(Factor.OTP)
    if level is Level.PHISHING_RESISTANT:
        counted &= PHISHING_RESISTANT_FACTORS
    return frozenset(counted)
