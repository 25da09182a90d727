"""The MFA compliance report: one row per account, as observed at its last sign-in.

Status precedence (the first that applies wins, and the page says so):

1. **Not enrolled**: the last sign-in showed no authenticator app.
2. **Enrolled, but signed in without MFA**: enrolled, yet the last sign-in did not verify a
   recognised factor (or verified it too long ago).
3. **Evidence unavailable**: the provider could not be read at the last sign-in, or the account
   has no sign-in on record. Unknown never counts as compliant.
4. **Recovery-code reminder active**: MFA was satisfied, but the person signed in with a recovery
   code and has not yet reviewed or regenerated their codes (a code set is shrinking).
5. **Recovery-code acknowledgement pending**: MFA was satisfied, but the person has not confirmed
   storing their current recovery codes.
6. **Compliant**.

Statuses are computed as if MFA were required, so a report on optional roles still tells who
has not enrolled; the Requirement column says whose role requires it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from django import forms
from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet

from aidial_portal.accounts.models import Account, RoleGrant
from aidial_portal.accounts.permissions import Scope
from aidial_portal.mfa.compliance import COMPLIANT_TAG, Reason
from aidial_portal.mfa.evidence import FACTOR_TITLES
from aidial_portal.mfa.policy import ROLE_TITLES
from aidial_portal.web.pagination import Ordering


class ReportStatus(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    WITHOUT_MFA = "signed_in_without_mfa"
    EVIDENCE_UNAVAILABLE = "evidence_unavailable"
    REMINDER_ACTIVE = "reminder_active"
    ACK_PENDING = "acknowledgement_pending"
    COMPLIANT = "compliant"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


# In precedence order: the first that applies to an account is its status.
STATUS_LABELS: dict[ReportStatus, str] = {
    ReportStatus.NOT_ENROLLED: "Not enrolled",
    ReportStatus.WITHOUT_MFA: "Enrolled, but signed in without MFA",
    ReportStatus.EVIDENCE_UNAVAILABLE: "Evidence unavailable",
    ReportStatus.REMINDER_ACTIVE: "Recovery-code reminder active",
    ReportStatus.ACK_PENDING: "Recovery-code acknowledgement pending",
    ReportStatus.COMPLIANT: "Compliant",
}

# `mfa.compliance.status_as_if_required` writes "compliant" or a compliance reason tag.
_COMPLIANT = COMPLIANT_TAG
_NOT_ENROLLED = Reason.NOT_ENROLLED.value
_WITHOUT_MFA = (
    Reason.CHALLENGE_NOT_SATISFIED.value,
    Reason.MFA_STALE.value,
    # Enrolled, but the role's level (AIDIAL_ROLE_LEVELS) asked for a passkey or security key.
    Reason.PHISHING_RESISTANT_REQUIRED.value,
)
_KNOWN = (_COMPLIANT, _NOT_ENROLLED, *_WITHOUT_MFA)

STATUS_FILTERS: dict[ReportStatus, Q] = {
    ReportStatus.NOT_ENROLLED: Q(last_status=_NOT_ENROLLED),
    ReportStatus.WITHOUT_MFA: Q(last_status__in=_WITHOUT_MFA),
    ReportStatus.EVIDENCE_UNAVAILABLE: ~Q(last_status__in=_KNOWN),
    ReportStatus.REMINDER_ACTIVE: Q(last_status=_COMPLIANT, reminder_since__isnull=False),
    ReportStatus.ACK_PENDING: Q(last_status=_COMPLIANT, reminder_since__isnull=True)
    & ~Q(ack_pending=""),
    ReportStatus.COMPLIANT: Q(last_status=_COMPLIANT, reminder_since__isnull=True, ack_pending=""),
}


class ReportAccount(Protocol):
    """What a report row reads of an account: an Account, or one row of `export_rows`."""

    @property
    def login_name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def org_domain(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def roles(self) -> Any: ...
    @property
    def requirement(self) -> str: ...
    @property
    def enrolled_observed(self) -> bool | None: ...
    @property
    def recovery_codes_observed(self) -> bool | None: ...
    @property
    def last_sign_in_at(self) -> datetime | None: ...
    @property
    def last_factor(self) -> str: ...
    @property
    def last_status(self) -> str: ...
    @property
    def reminder_since(self) -> datetime | None: ...
    @property
    def ack_pending(self) -> str: ...


def status_of(account: ReportAccount) -> ReportStatus:
    """The same precedence as STATUS_FILTERS, for one loaded row."""
    if account.last_status == _NOT_ENROLLED:
        return ReportStatus.NOT_ENROLLED
    if account.last_status in _WITHOUT_MFA:
        return ReportStatus.WITHOUT_MFA
    if account.last_status != _COMPLIANT:
        return ReportStatus.EVIDENCE_UNAVAILABLE
    if account.reminder_since is not None:
        return ReportStatus.REMINDER_ACTIVE
    if account.ack_pending:
        return ReportStatus.ACK_PENDING
    return ReportStatus.COMPLIANT


SORTS: dict[str, tuple[str, Ordering]] = {
    "recent": (
        "Last sign-in, newest first",
        Ordering("last_sign_in_at", descending=True, nullable=True),
    ),
    "oldest": ("Last sign-in, oldest first", Ordering("last_sign_in_at", nullable=True)),
    "organisation": ("Organisation (A to Z)", Ordering("org_domain")),
    "account": ("Account (A to Z)", Ordering("login_name")),
}
DEFAULT_SORT = "recent"


class ReportFilter(forms.Form):
    organisation = forms.CharField(
        label="Organisation",
        required=False,
        max_length=255,
        help_text="Organisation domain or ID, exactly as shown.",
    )
    role = forms.ChoiceField(
        label="Role",
        required=False,
        choices=[("", "Any role"), *((key, title) for key, title in ROLE_TITLES.items())],
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[("", "Any status"), *((s.value, s.label) for s in ReportStatus)],
    )
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[(key, label) for key, (label, _) in SORTS.items()],
    )

    def __init__(self, *args: object, scope: Scope, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not scope.everything:
            # An organisation administrator's scope is their organisation already.
            del self.fields["organisation"]


@dataclass(frozen=True)
class Query:
    scope: Scope
    organisation: str = ""
    role: str = ""
    status: ReportStatus | None = None
    sort: str = DEFAULT_SORT

    @classmethod
    def from_form(cls, form: ReportFilter, scope: Scope) -> Query:
        data = form.cleaned_data if form.is_valid() else {}
        status = data.get("status") or ""
        sort = data.get("sort") or DEFAULT_SORT
        return cls(
            scope=scope,
            organisation=(data.get("organisation") or "").strip() if scope.everything else "",
            role=data.get("role") or "",
            status=ReportStatus(status) if status else None,
            sort=sort if sort in SORTS else DEFAULT_SORT,
        )

    @property
    def ordering(self) -> Ordering:
        return SORTS[self.sort][1]

    def accounts(self) -> QuerySet[Account]:
        """The scoped, filtered accounts, unordered (pagination or export orders them)."""
        accounts = Account.objects.filter(self.scope.accounts())
        if self.organisation:
            # Everyone holding a portal role in that organisation, whatever else they hold.
            accounts = accounts.filter(
                Exists(
                    RoleGrant.objects.filter(account_id=OuterRef("pk")).filter(
                        Q(org_domain=self.organisation) | Q(org_id=self.organisation)
                    )
                )
            )
        if self.role and not self.scope.everything:
            # The role as held in the viewer's organisations, not elsewhere.
            assert self.scope.org_ids is not None  # noqa: S101 - narrowed by `everything`
            accounts = accounts.filter(
                Exists(
                    RoleGrant.objects.filter(
                        account_id=OuterRef("pk"),
                        role=self.role,
                        org_id__in=sorted(self.scope.org_ids),
                    )
                )
            )
        elif self.role:
            if connections[accounts.db].vendor == "postgresql":
                # JSON containment: PostgreSQL estimates it from the column's statistics, so
                # a filtered page walks the sort index and stops at the page's end (a LIKE
                # on the JSON text looked rare to it, and it sorted every match instead).
                accounts = accounts.filter(roles__contains=[self.role])
            else:
                # The quoted name matches one element of the JSON list, never a substring of
                # another role (SQLite has no JSON containment lookup).
                accounts = accounts.filter(roles__icontains=f'"{self.role}"')
        if self.status is not None:
            accounts = accounts.filter(STATUS_FILTERS[self.status])
        return accounts


@dataclass(frozen=True, slots=True)
class ReportRow:
    account: ReportAccount
    status: ReportStatus

    @property
    def name(self) -> str:
        return self.account.login_name or self.account.email or self.account.subject

    @property
    def organisation(self) -> str:
        return self.account.org_domain or self.account.org_id

    @property
    def role_titles(self) -> list[str]:
        return [ROLE_TITLES.get(role, role) for role in self.account.roles]

    @property
    def requirement(self) -> str:
        return _REQUIREMENT_TITLES.get(self.account.requirement, "No portal role")

    @property
    def totp(self) -> str:
        return _observed(self.account.enrolled_observed, "Enrolled", "Not enrolled")

    @property
    def recovery_codes(self) -> str:
        return _observed(self.account.recovery_codes_observed, "Available", "None")

    @property
    def last_sign_in_at(self) -> datetime | None:
        return self.account.last_sign_in_at

    @property
    def factor(self) -> str:
        return _FACTOR_TITLES.get(self.account.last_factor, "None")


# By stored value: the export looks these up for every row.
_REQUIREMENT_TITLES = {"required": "Required", "optional": "Optional"}
_FACTOR_TITLES = {factor.value: title for factor, title in FACTOR_TITLES.items()}


def rows(accounts: list[Account]) -> list[ReportRow]:
    return [ReportRow(account, status_of(account)) for account in accounts]


# What a report row reads (ReportAccount): the export reads only these, as plain rows.
REPORT_FIELDS = (
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
)


def export_rows(query: Query, chunk_size: int = 2_000) -> Iterator[ReportRow]:
    """Every row of the filtered view, in its order, read in chunks."""
    ordered = (
        query.accounts()
        .order_by(*query.ordering.order_by())
        .values_list(*REPORT_FIELDS, named=True)  # no model instance per row: a third faster
    )
    for account in ordered.iterator(chunk_size=chunk_size):
        yield ReportRow(account, status_of(account))


def _observed(value: bool | None, yes: str, no: str) -> str:
    if value is None:
        return "Unknown"
    return yes if value else no
