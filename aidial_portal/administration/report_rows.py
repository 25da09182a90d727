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


def rows(
    accounts: Sequence[ReportAccount], query: Query, *, synced_at: datetime | None
) -> list[ReportRow]:
    """Each account as a row per organisation in view in which it holds a portal role (one
    row without an organisation for an account that holds none, in an unscoped view)."""
    grants = _grants_of([account.id for account in accounts], query)
    names = _names({org_id for held in grants.values() for org_id in held})
    table = session_state.current_role_table()
    requirements: dict[tuple[str, ...], str] = {}

    def requirement(roles: tuple[str, ...]) -> str:
        # Few combinations of roles: each is worked out once per call.
        if roles not in requirements:
            level = requirement_for(roles, table)
            requirements[roles] = _REQUIREMENT_TITLES.get(
                level.value if level else "", "No portal role"
            )
        return requirements[roles]

    found: list[ReportRow] = []
    for account in accounts:
        status = status_of(account)
        held = grants.get(account.id, {})
        if not held:
            if query.org_ids is None:
                no_role = requirement(())
                found.append(
                    ReportRow(account, status, "", account.org_domain, (), synced_at, no_role)
                )
            continue
        for org_id, (domain, roles) in sorted(
            held.items(), key=lambda item: names.get(item[0]) or item[1][0] or item[0]
        ):
            label = names.get(org_id) or domain or org_id
            held_here = tuple(roles)
            found.append(
                ReportRow(
                    account, status, org_id, label, held_here, synced_at, requirement(held_here)
                )
            )
    return found


def _grants_of(
    account_ids: Iterable[int], query: Query
) -> Mapping[int, dict[str, tuple[str, list[str]]]]:
    """account -> organisation -> (domain, roles held there), for the organisations in view."""
    selected = RoleGrant.objects.filter(account_id__in=list(account_ids))
    if query.org_ids is not None:
        selected = selected.filter(org_id__in=sorted(query.org_ids))
    table = list(session_state.current_role_table())
    found: dict[int, dict[str, tuple[str, list[str]]]] = defaultdict(dict)
    for account_id, org_id, domain, role in selected.values_list(
        "account_id", "org_id", "org_domain", "role"
    ):
        entry = found[account_id].setdefault(org_id, (domain, []))
        entry[1].append(role)
    for held in found.values():
        for _, roles in held.values():
            roles.sort(key=lambda role: table.index(role) if role in table else len(table))
    if query.role:
        # Only the organisations where the filtered role is held.
        for held in found.values():
            for org_id in [o for o, (_, roles) in held.items() if query.role not in roles]:
                del held[org_id]
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
    """Every row of the filtered view, in its order, read in chunks."""
    ordered = (
        query.accounts()
        .order_by(*query.ordering.order_by())
        .values_list(*REPORT_FIELDS, named=True)  # no model instance per row: a third faster
    )
    synced_at = last_sync_at()
    chunk: list[ReportAccount] = []
    for account in ordered.iterator(chunk_size=chunk_size):
        chunk.append(account)
        if len(chunk) >= chunk_size:
            yield from rows(chunk, query, synced_at=synced_at)
            chunk = []
    if chunk:
        yield from rows(chunk, query, synced_at=synced_at)
