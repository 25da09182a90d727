"""Who sees which accounts and events: the policy as data, read by one function.

AiDial's own administrators and operators see every account. Partner and client
administrators see the accounts of the organisations in which they hold that administrator
role, and nothing of an organisation where they hold a lesser role. An account belongs to every
organisation in which it holds a portal role (its `RoleGrant` rows). Anyone else sees nothing.
Views ask `report_scope`; a None answer is a 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from aidial_portal.accounts.models import RoleGrant
from aidial_portal.identity.claims import Grant
from aidial_portal.mfa.policy import ROLES, RoleScope

# From the role table (`mfa/policy.py::ROLES`): a role missing from it is in none of these.
GLOBAL_ROLES = frozenset(
    key for key, role in ROLES.items() if role.administrator and role.scope is RoleScope.GLOBAL
)
ORGANISATION_ROLES = frozenset(
    key
    for key, role in ROLES.items()
    if role.administrator and role.scope is RoleScope.ORGANISATION
)
# AiDial's own staff read the support requests.
SUPPORT_READER_ROLES = frozenset(
    key for key, role in ROLES.items() if role.scope is RoleScope.GLOBAL
)


@dataclass(frozen=True)
class Scope:
    """Everything, or the accounts of some organisations."""

    org_ids: frozenset[str] | None  # None: every account

    @property
    def everything(self) -> bool:
        return self.org_ids is None

    def accounts(self, prefix: str = "") -> Q:
        """A filter on Account (or, with `prefix="account__"`, on a relation to it): an
        account with a grant in one of the organisations (a semi-join on the grants'
        (org_id, account) index, so each account appears once)."""
        if self.org_ids is None:
            return Q()
        # On a relation (`account__`), its foreign-key column: no join to the accounts table.
        pk = f"{prefix.removesuffix('__')}_id" if prefix else "pk"
        return Q(
            Exists(
                RoleGrant.objects.filter(account_id=OuterRef(pk), org_id__in=sorted(self.org_ids))
            )
        )


EVERYTHING = Scope(org_ids=None)


def honoured(grants: Iterable[Grant], global_org_id: str) -> tuple[Grant, ...]:
    """The grants the portal believes. Any organisation can create a role called
    `aidial_admin` in its project grant, so with `AIDIAL_GLOBAL_ORGANISATION_ID` set a global
    role counts only from that organisation."""
    return tuple(
        grant
        for grant in grants
        if not global_org_id or grant.role not in GLOBAL_ROLES or grant.org_id == global_org_id
    )


def report_scope(grants: Iterable[Grant]) -> Scope | None:
    """The accounts a viewer with these grants may see; None when they may see none.

    An administrator role counts only in its own organisation: a partner administrator of P
    who is client staff in C sees P's accounts and nothing of C's.
    """
    held = list(grants)
    if any(grant.role in GLOBAL_ROLES for grant in held):
        return EVERYTHING
    administered = frozenset(
        grant.org_id for grant in held if grant.role in ORGANISATION_ROLES and grant.org_id
    )
    return Scope(org_ids=administered) if administered else None


def may_view_reports(roles: Iterable[str]) -> bool:
    """For navigation only (no database): whether to offer the report links."""
    held = set(roles)
    return bool(held & (GLOBAL_ROLES | ORGANISATION_ROLES))


def may_read_support_requests(roles: Iterable[str]) -> bool:
    return bool(set(roles) & SUPPORT_READER_ROLES)


RECORDS_ROLES = frozenset({"aidial_admin"})


def may_inspect_records(roles: Iterable[str]) -> bool:
    """The read-only records site (Django's admin) is for AiDial administrators only."""
    return bool(set(roles) & RECORDS_ROLES)
