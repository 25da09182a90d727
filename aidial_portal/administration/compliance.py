"""The MFA compliance report: one row per person in an organisation.

Status precedence (the first that applies wins, and the page says so):

0. **Deactivated or locked in Zitadel** (as the last directory sync read it), then **Never
   signed in**: no sign-in is on record, so nothing shows MFA (not compliant).
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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from django import forms
from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict

from aidial_portal.accounts.models import Account, Organisation, RoleGrant
from aidial_portal.accounts.permissions import Scope
from aidial_portal.identity.claims import Grant
from aidial_portal.mfa.compliance import COMPLIANT_TAG, Reason
from aidial_portal.mfa.policy import ROLE_TITLES
from aidial_portal.web.pagination import Ordering


class ReportStatus(StrEnum):
    INACTIVE = "inactive_in_zitadel"
    NEVER_SIGNED_IN = "never_signed_in"
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
    ReportStatus.INACTIVE: "Deactivated or locked in Zitadel",
    ReportStatus.NEVER_SIGNED_IN: "Never signed in",
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

# Zitadel's states (as `directory sync` records them) in which a person cannot sign in.
INACTIVE_STATES = ("inactive", "locked", "removed", "deleted")
_INACTIVE = Q(directory_state__in=INACTIVE_STATES)
_SIGNED_IN = Q(last_sign_in_at__isnull=False) & ~_INACTIVE

STATUS_FILTERS: dict[ReportStatus, Q] = {
    ReportStatus.INACTIVE: _INACTIVE,
    ReportStatus.NEVER_SIGNED_IN: Q(last_sign_in_at__isnull=True) & ~_INACTIVE,
    ReportStatus.NOT_ENROLLED: Q(last_status=_NOT_ENROLLED) & _SIGNED_IN,
    ReportStatus.WITHOUT_MFA: Q(last_status__in=_WITHOUT_MFA) & _SIGNED_IN,
    ReportStatus.EVIDENCE_UNAVAILABLE: ~Q(last_status__in=_KNOWN) & _SIGNED_IN,
    ReportStatus.REMINDER_ACTIVE: Q(last_status=_COMPLIANT, reminder_since__isnull=False)
    & _SIGNED_IN,
    ReportStatus.ACK_PENDING: Q(last_status=_COMPLIANT, reminder_since__isnull=True)
    & ~Q(ack_pending="")
    & _SIGNED_IN,
    ReportStatus.COMPLIANT: Q(last_status=_COMPLIANT, reminder_since__isnull=True, ack_pending="")
    & _SIGNED_IN,
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
    @property
    def id(self) -> int: ...
    @property
    def directory_state(self) -> str: ...
    @property
    def directory_totp(self) -> bool | None: ...
    @property
    def directory_recovery_codes(self) -> bool | None: ...


def status_of(account: ReportAccount) -> ReportStatus:
    """The same precedence as STATUS_FILTERS, for one loaded row."""
    if account.directory_state in INACTIVE_STATES:
        return ReportStatus.INACTIVE
    if account.last_sign_in_at is None:
        return ReportStatus.NEVER_SIGNED_IN
    return _signed_in_status(account)


def _signed_in_status(account: ReportAccount) -> ReportStatus:
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
    organisation = forms.ChoiceField(label="Organisation", required=False, choices=())
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

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        scope: Scope,
        organisations: Sequence[OrganisationChoice] = (),
    ) -> None:
        typed = data.get("organisation", "") if data is not None else ""
        if data is not None and isinstance(typed, str) and typed:
            # An address from before the select: a domain still finds its organisation.
            by_domain = {org.domain: org.org_id for org in organisations if org.domain}
            if typed in by_domain:
                data = data.copy()
                data["organisation"] = by_domain[typed]
        super().__init__(data)
        if not scope.everything and len(organisations) < 2:
            # One organisation: the scope is that organisation already.
            del self.fields["organisation"]
        else:
            field = self.fields["organisation"]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101 - declared above
            field.choices = [
                ("", "Every organisation" if scope.everything else "All your organisations"),
                *((org.org_id, org.label) for org in organisations),
            ]


@dataclass(frozen=True)
class OrganisationChoice:
    org_id: str
    name: str
    domain: str

    @property
    def label(self) -> str:
        return self.name or self.domain or self.org_id


def organisation_choices(scope: Scope, grants: Sequence[Grant] = ()) -> list[OrganisationChoice]:
    """The organisations a viewer may filter by, by name (as the directory sync read them; a
    domain or an id for one it has not read yet)."""
    known = Organisation.objects.order_by("name", "org_id")
    if scope.org_ids is not None:
        known = known.filter(org_id__in=sorted(scope.org_ids))
    found = {
        org.org_id: OrganisationChoice(org.org_id, org.name, org.primary_domain) for org in known
    }
    if scope.org_ids is not None:
        domains = {grant.org_id: grant.org_domain for grant in grants}
        for org_id in sorted(scope.org_ids - found.keys()):
            found[org_id] = OrganisationChoice(org_id, "", domains.get(org_id, ""))
    return sorted(found.values(), key=lambda org: (org.label.casefold(), org.org_id))


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
            organisation=data.get("organisation") or "",
            role=data.get("role") or "",
            status=ReportStatus(status) if status else None,
            sort=sort if sort in SORTS else DEFAULT_SORT,
        )

    @property
    def ordering(self) -> Ordering:
        return SORTS[self.sort][1]

    @property
    def org_ids(self) -> frozenset[str] | None:
        """The organisations whose rows this view shows (None: every organisation)."""
        if self.organisation:
            return frozenset({self.organisation})
        return self.scope.org_ids

    def accounts(self) -> QuerySet[Account]:
        """The scoped, filtered accounts, unordered (pagination or export orders them)."""
        accounts = Account.objects.filter(self.scope.accounts())
        if self.organisation:
            # Everyone holding a portal role in that organisation, whatever else they hold.
            accounts = accounts.filter(
                Exists(
                    RoleGrant.objects.filter(account_id=OuterRef("pk"), org_id=self.organisation)
                )
            )
        if self.role and self.org_ids is not None:
            # The role as held in the organisations in view, not elsewhere.
            accounts = accounts.filter(
                Exists(
                    RoleGrant.objects.filter(
                        account_id=OuterRef("pk"),
                        role=self.role,
                        org_id__in=sorted(self.org_ids),
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
