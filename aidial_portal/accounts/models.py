"""Portal accounts, keyed by the provider's (issuer, subject), with their lifecycle markers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import F

from aidial_portal.indexes import NullsLastIndex
from aidial_portal.mfa.lifecycle import Markers, PendingReason


def identity_key(issuer: str, subject: str) -> str:
    return f"{issuer} {subject}"


MARKER_FIELDS = (
    "ever_enrolled",
    "enrolled_observed",
    "enrolment_observed_at",
    "ack_pending",
    "ack_pending_since",
    "acknowledged_at",
    "reminder_since",
    "regeneration_declared_at",
    "management_launched_at",
)


def markers_from(values: Mapping[str, Any]) -> Markers:
    """The lifecycle markers from an account's column values (`MARKER_FIELDS`)."""
    return Markers(
        ever_enrolled=values["ever_enrolled"],
        enrolled_observed=values["enrolled_observed"],
        enrolment_observed_at=values["enrolment_observed_at"],
        ack_pending=PendingReason(values["ack_pending"]) if values["ack_pending"] else None,
        ack_pending_since=values["ack_pending_since"],
        acknowledged_at=values["acknowledged_at"],
        reminder_since=values["reminder_since"],
        regeneration_declared_at=values["regeneration_declared_at"],
        management_launched_at=values["management_launched_at"],
    )


class AccountManager(BaseUserManager["Account"]):
    def get_by_natural_key(self, username: str | None) -> Account:
        return self.get(identity_key=username)


class Account(AbstractBaseUser):
    """A person as the provider knows them. Never looked up by email."""

    identity_key = models.CharField(max_length=600, unique=True, editable=False)
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    login_name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    # The organisation of the first grant (by role, then organisation id): what the report shows
    # and sorts by. Who may see the account is decided by its grants (`RoleGrant`), never here.
    org_id = models.CharField(max_length=255, blank=True, db_index=True)
    org_domain = models.CharField(max_length=255, blank=True)
    roles = models.JSONField(default=list)  # the portal roles held, in any organisation
    requirement = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # What the last sign-in told us (for the compliance report).
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    last_factor = models.CharField(max_length=32, blank=True)
    last_status = models.CharField(max_length=40, blank=True, db_index=True)
    recovery_codes_observed = models.BooleanField(null=True)
    # Lifecycle markers: times and kinds only, never a code, seed or token.
    ever_enrolled = models.BooleanField(default=False)
    enrolled_observed = models.BooleanField(null=True)
    enrolment_observed_at = models.DateTimeField(null=True, blank=True)
    ack_pending = models.CharField(
        max_length=16, blank=True, choices=[(r.value, r.value) for r in PendingReason]
    )
    ack_pending_since = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    reminder_since = models.DateTimeField(null=True, blank=True)
    regeneration_declared_at = models.DateTimeField(null=True, blank=True)
    management_launched_at = models.DateTimeField(null=True, blank=True)
    # What the last directory sync read in Zitadel (`directory sync`); empty before any sync.
    # Kept apart from the lifecycle markers, which only a sign-in moves.
    directory_state = models.CharField(max_length=16, blank=True)
    directory_totp = models.BooleanField(null=True)
    directory_recovery_codes = models.BooleanField(null=True)

    USERNAME_FIELD = "identity_key"
    objects = AccountManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="account_issuer_subject")
        ]
        # The compliance report pages by (sort column, id) with a LIMIT, scoped by organisation
        # for partner and client administrators: each page is one range scan. (Created by
        # accounts/0002_report_indexes_squashed_0003, with the ones below.)
        indexes = [
            models.Index(fields=["last_sign_in_at", "id"], name="admin_account_sign_in"),
            models.Index(
                fields=["org_id", "last_sign_in_at", "id"], name="admin_account_org_sign_in"
            ),
            models.Index(fields=["org_domain", "id"], name="admin_account_domain"),
            models.Index(fields=["login_name", "id"], name="admin_account_login"),
            models.Index(fields=["org_id", "login_name", "id"], name="admin_account_org_login"),
            models.Index(fields=["last_status", "id"], name="admin_account_status"),
            # The default sort, newest sign-in first and never-signed-in last, per organisation
            # and per status; and the event viewer's account filter on email
            # (docs/performance.md).
            NullsLastIndex(
                F("last_sign_in_at").desc(nulls_last=True),
                F("id").desc(),
                name="admin_account_recent",
            ),
            NullsLastIndex(
                F("org_id"),
                F("last_sign_in_at").desc(nulls_last=True),
                F("id").desc(),
                name="admin_account_org_recent",
            ),
            NullsLastIndex(
                F("last_status"),
                F("last_sign_in_at").desc(nulls_last=True),
                F("id").desc(),
                name="admin_account_status_recent",
            ),
            models.Index(fields=["email"], name="admin_account_email"),
        ]

    def __str__(self) -> str:
        return self.login_name or self.subject

    def markers(self) -> Markers:
        return markers_from({name: getattr(self, name) for name in MARKER_FIELDS})

    def set_markers(self, markers: Markers) -> list[str]:
        """Copy the markers onto the row; returns the changed field names for `save()`."""
        values: dict[str, Any] = {
            "ever_enrolled": markers.ever_enrolled,
            "enrolled_observed": markers.enrolled_observed,
            "enrolment_observed_at": markers.enrolment_observed_at,
            "ack_pending": markers.ack_pending.value if markers.ack_pending else "",
            "ack_pending_since": markers.ack_pending_since,
            "acknowledged_at": markers.acknowledged_at,
            "reminder_since": markers.reminder_since,
            "regeneration_declared_at": markers.regeneration_declared_at,
            "management_launched_at": markers.management_launched_at,
        }
        changed = [name for name, value in values.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, values[name])
        return changed


class RoleGrant(models.Model):
    """One portal role held in one organisation, as the last sign-in reported it.

    Zitadel grants roles per organisation (`{role: {orgId: domain}}`), and one role can be held
    in several. A row per (account, organisation, role) keeps the organisation-scoped report an
    index probe: "accounts with a grant in organisation X" is a semi-join on
    (org_id, account_id), so the report keeps paging by its own (sort column, id) indexes on the
    accounts table, and a person appears in the report of every organisation they hold a role in.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(max_length=64)
    org_id = models.CharField(max_length=255)
    org_domain = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "org_id", "role"], name="role_grant_account_org_role"
            )
        ]
        indexes = [
            models.Index(fields=["org_id", "account"], name="role_grant_org_account"),
            models.Index(fields=["org_id", "role", "account"], name="role_grant_org_role_account"),
        ]

    def __str__(self) -> str:
        return f"{self.role} in {self.org_domain or self.org_id}"


class MandatoryRoleFirstSeen(models.Model):
    """When the portal first saw a person hold a role that requires MFA, in one organisation:
    the start of their enrolment grace period (`AIDIAL_ENROLMENT_GRACE_DAYS`).

    Written by the first sign-in (or directory sync) that shows the grant while grace is on,
    and never changed afterwards: a new sign-in does not restart the clock, and the row stays
    when the grant is gone, so a role taken away and given back gets no second grace period.
    """

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="mandatory_roles_first_seen"
    )
    role = models.CharField(max_length=64)
    org_id = models.CharField(max_length=255)
    first_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "org_id", "role"], name="mandatory_role_first_seen_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} in {self.org_id}, first seen {self.first_seen_at:%Y-%m-%d}"


class Organisation(models.Model):
    """A Zitadel organisation by name, as the last directory sync read it."""

    org_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, blank=True)
    primary_domain = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.name or self.primary_domain or self.org_id


class ComplianceSnapshot(models.Model):
    """One organisation's day: how many people hold a role that requires MFA there, and how many
    of them were compliant. Written by `directory sync` (the report's 90-day trend)."""

    day = models.DateField()
    org_id = models.CharField(max_length=255)
    mandatory = models.PositiveIntegerField()
    compliant = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org_id", "day"], name="compliance_snapshot_org_day")
        ]
        indexes = [models.Index(fields=["day"], name="compliance_snapshot_day")]

    def __str__(self) -> str:
        return f"{self.org_id} on {self.day}: {self.compliant} of {self.mandatory}"


class CommandLock(models.Model):
    """One run at a time of a periodic command, across processes and hosts: the row exists
    while a run holds it; an expired row (a run that crashed) is taken over."""

    name = models.CharField(max_length=64, unique=True)
    token = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
