"""The report's rows, one per person in an organisation, and its columns.

A person holds roles per organisation (`RoleGrant`), so a row is a person *in* an organisation:
that organisation's name, the roles held there and the requirement those roles set. The page
and the CSV are both drawn from `COLUMNS`, so they cannot disagree.

Pages still page by account (the accounts table's sort indexes), and each account on a page
becomes a row per organisation in view: one query for the page's grants, one for names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from django.db.models import FilteredRelation, Q

from aidial_portal.accounts import session_state
from aidial_portal.accounts.models import Organisation, RoleGrant
from aidial_portal.administration.compliance import (
    Query,
    ReportAccount,
    ReportStatus,
    status_of,
)
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.mfa.evidence import FACTOR_TITLES
from aidial_portal.mfa.policy import ROLE_TITLES, requirement_for
from aidial_portal.web.local_time import local_time

_REQUIREMENT_TITLES = {"required": "Required", "optional": "Optional"}
_FACTOR_TITLES = {factor.value: title for factor, title in FACTOR_TITLES.items()}


@dataclass(frozen=True, slots=True)
class ReportRow:
    account: ReportAccount
    status: ReportStatus
    org_id: str
    organisation: str  # the organisation's name (its domain or id until a sync reads it)
    roles: tuple[str, ...]  # held in this organisation
    last_sync_at: datetime | None
    requirement: str  # what the roles held here set, in words

    @property
    def name(self) -> str:
        return self.account.login_name or self.account.email or self.account.subject

    @property
    def role_titles(self) -> list[str]:
        return [ROLE_TITLES.get(role, role) for role in self.roles]

    @property
    def enrolment_seen(self) -> tuple[bool | None, bool | None, str, datetime | None]:
        """(authenticator app, recovery codes, by what, when): the newer of the last sign-in
        and the last directory sync."""
        account = self.account
        synced = account.directory_totp is not None and self.last_sync_at is not None
        signed_in = account.last_sign_in_at
        if synced and (signed_in is None or self.last_sync_at >= signed_in):  # type: ignore[operator]
            return (
                account.directory_totp,
                account.directory_recovery_codes,
                "directory sync",
                self.last_sync_at,
            )
        if signed_in is None:
            return None, None, "", None
        return account.enrolled_observed, account.recovery_codes_observed, "sign-in", signed_in

    @property
    def enrolment(self) -> str:
        totp, codes, source, at = self.enrolment_seen
        if not source:
            return "Unknown"
        app = _observed(
            totp, "Authenticator app enrolled", "No authenticator app", "Authenticator app unknown"
        )
        recovery = _observed(
            codes, "recovery codes available", "no recovery codes", "recovery codes unknown"
        )
        return f"{app}; {recovery} (seen at {source}, {local_time(at)})"

    @property
    def last_sign_in(self) -> str:
        at = self.account.last_sign_in_at
        if at is None:
            return "Never signed in"
        factor = _FACTOR_TITLES.get(self.account.last_factor)
        return f"{local_time(at)}, {factor.lower() if factor else 'no recognised factor'}"


def _observed(value: bool | None, yes: str, no: str, unknown: str) -> str:
    if value is None:
        return unknown
    return yes if value else no


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    value: Callable[[ReportRow], str]


# The report's columns, in order: the page's table and the CSV's header and cells.
COLUMNS: tuple[Column, ...] = (
    Column("account", "Account", lambda row: row.name),
    Column("organisation", "Organisation", lambda row: row.organisation or "—"),
    Column("roles", "Roles here", lambda row: ", ".join(row.role_titles) or "—"),
    Column("requirement", "Requirement", lambda row: row.requirement),
    Column("enrolment", "Enrolment", lambda row: row.enrolment),
    Column("last_sign_in", "Last sign-in", lambda row: row.last_sign_in),
    Column("status", "Status", lambda row: row.status.label),
)


def cells(row: ReportRow) -> list[tuple[str, str, str]]:
    """(key, title, text) of each column, for the page."""
    return [(column.key, column.title, column.value(row)) for column in COLUMNS]


def last_sync_at() -> datetime | None:
    """When the last directory sync ran (its event; an index probe)."""
    return (
        SecurityEvent.objects.filter(event_type=EventTag.Directory.SYNCED.value)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )


Held = dict[str, tuple[str, list[str]]]  # organisation -> (domain, roles held there)


def rows(
    accounts: Sequence[ReportAccount], query: Query, *, synced_at: datetime | None
) -> list[ReportRow]:
    """Each account as a row per organisation in view in which it holds a portal role (one
    row without an organisation for an account that holds none, in an unscoped view)."""
    grants = _grants_of([account.id for account in accounts], query)
    names = _names({org_id for held in grants.values() for org_id in held})
    expand = _Expander(query, names, synced_at)
    return [row for account in accounts for row in expand(account, grants.get(account.id, {}))]


class _Expander:
    """Turns an account and its grants in view into the account's rows."""

    def __init__(self, query: Query, names: Mapping[str, str], synced_at: datetime | None):
        self.query, self.names, self.synced_at = query, names, synced_at
        self.table = session_state.current_role_table()
        self.order = {role: index for index, role in enumerate(self.table)}
        self.requirements: dict[tuple[str, ...], str] = {}

    def requirement(self, roles: tuple[str, ...]) -> str:
        # Few combinations of roles: each is worked out once.
        if roles not in self.requirements:
            level = requirement_for(roles, self.table)
            self.requirements[roles] = _REQUIREMENT_TITLES.get(
                level.value if level else "", "No portal role"
            )
        return self.requirements[roles]

    def __call__(self, account: ReportAccount, held: Held) -> list[ReportRow]:
        status = status_of(account)
        if self.query.role:
            # Only the organisations where the filtered role is held.
            held = {org: entry for org, entry in held.items() if self.query.role in entry[1]}
        if not held:
            if self.query.org_ids is not None or self.query.role:
                return []
            return [
                ReportRow(
                    account,
                    status,
                    "",
                    account.org_domain,
                    (),
                    self.synced_at,
                    self.requirement(()),
                )
            ]
        found = []
        for org_id, (domain, roles) in held.items():
            here = tuple(sorted(roles, key=lambda role: self.order.get(role, len(self.order))))
            label = self.names.get(org_id) or domain or org_id
            found.append(
                ReportRow(
                    account, status, org_id, label, here, self.synced_at, self.requirement(here)
                )
            )
        found.sort(key=lambda row: row.organisation.casefold())
        return found


def _grants_of(account_ids: Iterable[int], query: Query) -> Mapping[int, Held]:
    """account -> organisation -> (domain, roles held there), for the organisations in view."""
    selected = RoleGrant.objects.filter(account_id__in=list(account_ids))
    if query.org_ids is not None:
        selected = selected.filter(org_id__in=sorted(query.org_ids))
    found: dict[int, Held] = defaultdict(dict)
    for account_id, org_id, domain, role in selected.values_list(
        "account_id", "org_id", "org_domain", "role"
    ):
        found[account_id].setdefault(org_id, (domain, []))[1].append(role)
    return found


def _names(org_ids: set[str]) -> dict[str, str]:
    if not org_ids:
        return {}
    return dict(
        Organisation.objects.filter(org_id__in=sorted(org_ids))
        .exclude(name="")
        .values_list("org_id", "name")
    )


# What a report row reads of an account: the export reads only these, as plain rows.
REPORT_FIELDS = (
    "id",
    "login_name",
    "email",
    "subject",
    "org_domain",
    "org_id",
    "roles",
    "requirement",
    "enrolled_observed",
    "recovery_codes_observed",
    "last_sign_in_at",
    "last_factor",
    "last_status",
    "reminder_since",
    "ack_pending",
    "directory_state",
    "directory_totp",
    "directory_recovery_codes",
)


def export_rows(query: Query, chunk_size: int = 2_000) -> Iterator[ReportRow]:
    """Every row of the filtered view, in its order: one streamed query of the accounts with
    their grants in view (a LEFT JOIN; an account's grants are consecutive, as the order ends
    with the account's id), so no id list is sent per chunk."""
    in_view = Q() if query.org_ids is None else Q(grants__org_id__in=sorted(query.org_ids))
    ordered = (
        query.accounts()
        .annotate(held=FilteredRelation("grants", condition=in_view))
        .order_by(*query.ordering.order_by())
        .values_list(*REPORT_FIELDS, "held__org_id", "held__org_domain", "held__role")
    )
    names = dict(Organisation.objects.exclude(name="").values_list("org_id", "name"))
    expand = _Expander(query, names, last_sync_at())
    width = len(REPORT_FIELDS)
    current: tuple[Any, ...] | None = None
    held: Held = {}
    for values in ordered.iterator(chunk_size=chunk_size):
        if current is None or values[0] != current[0]:
            if current is not None:
                yield from expand(_account(current), held)
            current, held = values, {}
        org_id, domain, role = values[width:]
        if org_id is not None:
            held.setdefault(org_id, (domain, []))[1].append(role)
    if current is not None:
        yield from expand(_account(current), held)


def _account(values: tuple[Any, ...]) -> ReportAccount:
    """One exported account's columns, read by name (no model instance per row)."""
    return cast("ReportAccount", SimpleNamespace(**dict(zip(REPORT_FIELDS, values, strict=False))))
