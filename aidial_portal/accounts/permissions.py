"""Who sees which accounts and events: the policy as data, read by one function.

AiDial's own administrators and operators see every account. Partner and client
administrators see the accounts of their own organisation only. Anyone else sees nothing.
Views ask `report_scope`; a None answer is a 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

GLOBAL_ROLES = frozenset({"aidial_admin", "aidial_operator"})
ORGANISATION_ROLES = frozenset({"partner_admin", "client_admin"})
SUPPORT_READER_ROLES = frozenset({"aidial_admin", "aidial_operator"})


@dataclass(frozen=True)
class Scope:
    """Everything, or one organisation's accounts."""

    org_id: str | None  # None: every account

    @property
    def everything(self) -> bool:
        return self.org_id is None

    def accounts(self, prefix: str = "") -> Q:
        """A filter on Account (or, with `prefix="account__"`, on a relation to it)."""
        if self.org_id is None:
            return Q()
        return Q(**{f"{prefix}org_id": self.org_id})


EVERYTHING = Scope(org_id=None)


def report_scope(roles: Iterable[str], org_id: str) -> Scope | None:
    """The accounts a viewer with these roles may see; None when they may see none.

    An organisation administrator whose account carries no organisation sees nothing: an empty
    `org_id` must never match every account without one.
    """
    held = set(roles)
    if held & GLOBAL_ROLES:
        return EVERYTHING
    if held & ORGANISATION_ROLES and org_id:
        return Scope(org_id=org_id)
    return None


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
