"""Rolling MFA out: what a signed-in session is judged by beyond the role table.

The role's level (`AIDIAL_ROLE_LEVELS`) and the accepted factors (`AIDIAL_ACCEPTED_FACTORS`)
come from settings, the roles from the session; the start of the enrolment grace period
(`AIDIAL_ENROLMENT_GRACE_DAYS`) is written into the session at sign-in, beside the sign-in.
So the gate asks all of it with no query and no network call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime
from typing import Any

from django.db.models import Min
from django.utils import timezone

from aidial_portal.accounts.models import Account, MandatoryRoleFirstSeen
from aidial_portal.accounts.session_state import SignedIn, current_role_table
from aidial_portal.config import PortalConfig
from aidial_portal.identity.claims import Grant
from aidial_portal.mfa.compliance import Compliance, evaluate
from aidial_portal.mfa.grace import Deadline, enrolment_deadline, within_grace
from aidial_portal.mfa.levels import Level, level_for
from aidial_portal.mfa.policy import Requirement

# Beside the sign-in (`session_state.SESSION_KEY`), written by the same sign-in: when the
# person's earliest mandatory role grant was first seen. Gone with the session.
GRACE_SESSION_KEY = "aidial_enrolment_grace"


def mandatory_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """The roles held that require MFA under the role table in force."""
    table = current_role_table()
    return tuple(role for role in roles if table.get(role) is Requirement.REQUIRED)


def level_of(roles: Iterable[str], config: PortalConfig) -> Level:
    """The strictest level among the held roles that require MFA (`mfa` unless
    AIDIAL_ROLE_LEVELS says more; a level on an optional role asks nothing)."""
    return level_for(mandatory_roles(roles), config.role_levels)


def session_compliance(state: SignedIn, config: PortalConfig, now: datetime) -> Compliance:
    """Does this sign-in satisfy its roles' requirement, at their level, with accepted factors?"""
    if state.requirement is None:
        return Compliance(False)
    return evaluate(
        state.requirement,
        state.evidence,
        now,
        max_age=config.mfa_max_age,
        level=level_of(state.roles, config),
        accepted=config.accepted_factors,
    )


# Enrolment deadlines ---------------------------------------------------------------------


def note_mandatory_grants(account: Account, grants: Iterable[Grant], now: datetime) -> None:
    """Remember when each mandatory role grant was first seen (a sign-in or a directory sync);
    a grant seen before keeps its first sighting."""
    table = current_role_table()
    MandatoryRoleFirstSeen.objects.bulk_create(
        [
            MandatoryRoleFirstSeen(
                account=account, role=grant.role, org_id=grant.org_id, first_seen_at=now
            )
            for grant in grants
            if table.get(grant.role) is Requirement.REQUIRED
        ],
        ignore_conflicts=True,  # the unique (account, org, role): never a second sighting
    )


def first_seen_by_account(account_ids: Iterable[int]) -> dict[int, datetime]:
    """Each account's earliest first sighting of a role that requires MFA now."""
    mandatory = [
        role for role, value in current_role_table().items() if value is Requirement.REQUIRED
    ]
    rows = (
        MandatoryRoleFirstSeen.objects.filter(account_id__in=list(account_ids), role__in=mandatory)
        .values("account_id")
        .annotate(first=Min("first_seen_at"))
    )
    return {row["account_id"]: row["first"] for row in rows}


def deadline_from(first_seen: datetime | None, config: PortalConfig) -> Deadline | None:
    """The enrolment deadline, in the portal's time zone (Django's TIME_ZONE)."""
    zone = timezone.get_default_timezone()
    return enrolment_deadline(first_seen, config.enrolment_grace_days, zone)


def keep_first_seen(session: MutableMapping[str, Any], first_seen: datetime | None) -> None:
    """Put this sign-in's first sighting beside it in the session (or clear an older one)."""
    if first_seen is None:
        session.pop(GRACE_SESSION_KEY, None)
    else:
        session[GRACE_SESSION_KEY] = first_seen.isoformat()


def session_deadline(session: Mapping[str, Any], config: PortalConfig) -> Deadline | None:
    """The deadline carried by the session's sign-in; None without grace or when unreadable."""
    if config.enrolment_grace_days <= 0:
        return None
    raw = session.get(GRACE_SESSION_KEY)
    try:
        first_seen = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if first_seen is None or first_seen.tzinfo is None:
        return None
    return deadline_from(first_seen, config)


def grace_for(
    session: Mapping[str, Any], compliance: Compliance, config: PortalConfig, now: datetime
) -> Deadline | None:
    """The deadline when this not-enrolled session is let in on grace; None otherwise."""
    deadline = session_deadline(session, config)
    return deadline if within_grace(compliance, deadline, now) else None
