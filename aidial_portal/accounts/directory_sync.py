"""The directory sync: make the portal's accounts and grants what Zitadel says they are now.

Everything is read from Zitadel first; then one transaction upserts the accounts (a person who
never signed in gets an account without a sign-in), makes each account's `RoleGrant`s exactly
its active authorizations in the portal's project, records each person's state and enrolment,
records each authorization's id as its person's (so that a `user.grant.removed` event for a
grant made before the portal received events still ends that person's sessions), writes
today's compliance snapshot per organisation, and records one event with the counts.
A provider error stops the run before the transaction: nothing changes. Only rows whose values
differ are written, so a run that finds no change writes its event and nothing else.

A sign-in still records the person at once (`sign_in.complete_sign_in`); the next sync brings
the grants back to Zitadel's current authorizations either way.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from aidial_portal.accounts import rollout, session_state
from aidial_portal.accounts.models import (
    Account,
    CommandLock,
    ComplianceSnapshot,
    Organisation,
    RoleGrant,
    identity_key,
)
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.identity import providers
from aidial_portal.identity.claims import Grant
from aidial_portal.identity.zitadel_directory import (
    Authorization,
    Enrolment,
    Person,
    ZitadelDirectory,
)
from aidial_portal.identity.zitadel_directory import (
    Organisation as DirectoryOrganisation,
)
from aidial_portal.mfa.compliance import COMPLIANT_TAG
from aidial_portal.mfa.policy import Requirement, requirement_for
from aidial_portal.sessions.models import KnownUserGrant

LOCK_NAME = "directory_sync"
# A run that died without releasing its lock gives it up after this long.
LOCK_LIFETIME = timedelta(hours=1)
REMOVED = "removed"  # Zitadel no longer has the person
INACTIVE_STATES = frozenset({"inactive", "locked", REMOVED, "deleted"})


def directory_from_settings(*, timeout: float) -> ZitadelDirectory:
    """The directory client with the portal's service credentials. (One place to switch to the
    shared Zitadel API client when there is one.)"""
    return ZitadelDirectory(
        settings.AIDIAL.api_url, providers.service_credentials(), timeout=timeout
    )


class SyncBusy(Exception):
    """Another run holds the lock."""


@dataclass(frozen=True)
class Snapshot:
    """What Zitadel says, read in full before anything is written."""

    authorizations: list[Authorization]
    people: dict[str, Person]
    organisations: dict[str, DirectoryOrganisation]
    enrolments: dict[str, Enrolment]


@dataclass
class Counts:
    people: int = 0
    created: int = 0
    updated: int = 0
    grants_added: int = 0
    grants_removed: int = 0
    deactivated: int = 0
    removed: int = 0
    organisations: int = 0

    def details(self) -> dict[str, int]:
        return {
            "people": self.people,
            "created": self.created,
            "updated": self.updated,
            "grants_added": self.grants_added,
            "grants_removed": self.grants_removed,
            "deactivated": self.deactivated,
            "removed": self.removed,
            "organisations": self.organisations,
        }

    def summary(self) -> str:
        return (
            f"directory sync: {self.people} people in {self.organisations} organisations; "
            f"{self.created} new, {self.updated} updated, {self.grants_added} grants added, "
            f"{self.grants_removed} removed, {self.deactivated} deactivated or locked, "
            f"{self.removed} removed from Zitadel"
        )


def read(directory: ZitadelDirectory, *, project_id: str, concurrency: int) -> Snapshot:
    """Everything the sync needs from Zitadel; raises `DirectoryUnavailable` on any failure."""
    config = settings.AIDIAL
    authorizations = directory.authorizations(project_id)
    known = Account.objects.filter(issuer=config.issuer).values_list("subject", flat=True)
    wanted = {item.user_id for item in authorizations} | set(known)
    people = directory.people(wanted)
    organisations = directory.organisations()
    enrolments = directory.enrolments(people, concurrency=concurrency)
    return Snapshot(authorizations, people, organisations, enrolments)


@contextmanager
def run_lock(now: datetime) -> Iterator[None]:
    """Hold the sync's lock row while the block runs; `SyncBusy` when another run holds it."""
    token = secrets.token_hex(16)
    CommandLock.objects.filter(name=LOCK_NAME, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            CommandLock.objects.create(name=LOCK_NAME, token=token, expires_at=now + LOCK_LIFETIME)
    except IntegrityError:
        raise SyncBusy from None
    try:
        yield
    finally:
        CommandLock.objects.filter(name=LOCK_NAME, token=token).delete()


def apply(snapshot: Snapshot, *, now: datetime, today: date) -> Counts:
    """Write what changed, in one transaction, with one event."""
    issuer = settings.AIDIAL.issuer
    table = session_state.current_role_table()
    counts = Counts(organisations=len({item.org_id for item in snapshot.authorizations}))
    held: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for item in snapshot.authorizations:
        for role in item.roles:
            if role in table:
                held[item.user_id].add((item.org_id, role))
    with transaction.atomic():
        _upsert_organisations(snapshot.organisations)
        domains = {org.org_id: org.primary_domain for org in snapshot.organisations.values()}
        accounts = {
            account.subject: account
            for account in Account.objects.select_for_update().filter(issuer=issuer)
        }
        stored: dict[int, set[tuple[str, str]]] = defaultdict(set)
        for grant in RoleGrant.objects.filter(account__issuer=issuer).values_list(
            "account_id", "org_id", "role"
        ):
            stored[grant[0]].add((grant[1], grant[2]))
        for subject in sorted(set(held) | set(accounts)):
            account = accounts.get(subject)
            grants = held.get(subject, set())
            if account is None:
                if not grants:
                    continue
                account = Account(
                    identity_key=identity_key(issuer, subject), issuer=issuer, subject=subject
                )
                account.set_unusable_password()
                counts.created += 1
            person = snapshot.people.get(subject)
            if grants:
                counts.people += 1
            changed = _update_account(
                account,
                person=person,
                enrolment=snapshot.enrolments.get(subject),
                grants=grants,
                domains=domains,
                table=table,
                counts=counts,
            )
            if account.pk is None:
                account.save()
            elif changed:
                account.save(update_fields=changed)
                counts.updated += 1
            added = _replace_grants(account, grants, stored.get(account.pk, set()), domains, counts)
            if added and settings.AIDIAL.enrolment_grace_days > 0:
                # A sync that first shows a role requiring MFA starts its enrolment deadline.
                rollout.note_mandatory_grants(
                    account, (Grant(role, org_id) for org_id, role in added), now
                )
        _learn_grant_ids(snapshot.authorizations, now)
        _write_snapshots(today, table)
        record(
            EventTag.Directory.SYNCED,
            details=counts.details(),
            at=now,
        )
    return counts


def _upsert_organisations(found: Mapping[str, DirectoryOrganisation]) -> None:
    stored = {org.org_id: org for org in Organisation.objects.all()}
    for org in found.values():
        row = stored.get(org.org_id)
        if row is None:
            Organisation.objects.create(
                org_id=org.org_id, name=org.name, primary_domain=org.primary_domain
            )
        elif (row.name, row.primary_domain) != (org.name, org.primary_domain):
            row.name, row.primary_domain = org.name, org.primary_domain
            row.save(update_fields=["name", "primary_domain"])


def _update_account(
    account: Account,
    *,
    person: Person | None,
    enrolment: Enrolment | None,
    grants: set[tuple[str, str]],
    domains: Mapping[str, str],
    table: Mapping[str, Requirement],
    counts: Counts,
) -> list[str]:
    """Set the account's values from Zitadel; returns the names of the fields that changed."""
    state = person.state if person is not None else REMOVED
    roles = sorted({role for _, role in grants}, key=list(table).index)
    requirement = requirement_for(roles, table)
    first = min(grants, key=lambda grant: (list(table).index(grant[1]), grant[0]), default=None)
    values: dict[str, Any] = {
        "directory_state": state,
        "roles": roles,
        "requirement": requirement.value if requirement else "",
        "org_id": first[0] if first else "",
        "org_domain": domains.get(first[0], "") if first else "",
    }
    if first and not values["org_domain"]:
        values["org_domain"] = account.org_domain if account.org_id == first[0] else ""
    if person is not None:
        values.update(
            login_name=person.login_name, email=person.email, display_name=person.display_name
        )
    if enrolment is not None:
        values.update(
            directory_totp=enrolment.totp, directory_recovery_codes=enrolment.recovery_codes
        )
    changed = [name for name, value in values.items() if getattr(account, name) != value]
    if "directory_state" in changed and account.pk is not None:
        if state == REMOVED:
            counts.removed += 1
        elif state in INACTIVE_STATES:
            counts.deactivated += 1
    for name in changed:
        setattr(account, name, values[name])
    return changed


def _replace_grants(
    account: Account,
    wanted: set[tuple[str, str]],
    stored: set[tuple[str, str]],
    domains: Mapping[str, str],
    counts: Counts,
) -> set[tuple[str, str]]:
    """Make the account's grants `wanted`; the (organisation, role) pairs added."""
    gone = stored - wanted
    for org_id, role in gone:
        RoleGrant.objects.filter(account=account, org_id=org_id, role=role).delete()
    counts.grants_removed += len(gone)
    added = wanted - stored
    if added:
        RoleGrant.objects.bulk_create(
            RoleGrant(account=account, org_id=org_id, role=role, org_domain=domains.get(org_id, ""))
            for org_id, role in sorted(added)
        )
        counts.grants_added += len(added)
    return added


def _learn_grant_ids(authorizations: list[Authorization], now: datetime) -> None:
    """Record whose each authorization is: `user.grant.removed` names only the grant's id, so a
    grant made before the portal received events is learnt here. New or changed rows only."""
    wanted = {item.grant_id: item.user_id for item in authorizations}
    stored = dict(
        KnownUserGrant.objects.filter(grant_id__in=wanted).values_list("grant_id", "subject")
    )
    KnownUserGrant.objects.bulk_create(
        KnownUserGrant(grant_id=grant_id, subject=subject, updated_at=now)
        for grant_id, subject in sorted(wanted.items())
        if grant_id not in stored
    )
    for grant_id, subject in sorted(wanted.items()):
        if grant_id in stored and stored[grant_id] != subject:
            KnownUserGrant.objects.filter(grant_id=grant_id).update(subject=subject, updated_at=now)


def _write_snapshots(today: date, table: Mapping[str, Requirement]) -> None:
    """Today's row per organisation: people whose roles there require MFA, and how many of
    them are compliant (signed in with MFA, active in Zitadel)."""
    required_roles = [role for role, level in table.items() if level is Requirement.REQUIRED]
    people: dict[str, set[int]] = defaultdict(set)
    for org_id, account_id in RoleGrant.objects.filter(role__in=required_roles).values_list(
        "org_id", "account_id"
    ):
        people[org_id].add(account_id)
    compliant_ids = set(
        Account.objects.filter(
            last_status=COMPLIANT_TAG, reminder_since__isnull=True, ack_pending=""
        )
        .exclude(directory_state__in=INACTIVE_STATES)
        .values_list("pk", flat=True)
    )
    stored = {row.org_id: row for row in ComplianceSnapshot.objects.filter(day=today)}
    for org_id, members in people.items():
        mandatory, compliant = len(members), len(members & compliant_ids)
        row = stored.get(org_id)
        if row is None:
            ComplianceSnapshot.objects.create(
                day=today, org_id=org_id, mandatory=mandatory, compliant=compliant
            )
        elif (row.mandatory, row.compliant) != (mandatory, compliant):
            row.mandatory, row.compliant = mandatory, compliant
            row.save(update_fields=["mandatory", "compliant"])
    stale = [row.pk for org_id, row in stored.items() if org_id not in people]
    if stale:
        ComplianceSnapshot.objects.filter(pk__in=stale).delete()


def today_local(now: datetime) -> date:
    return timezone.localtime(now).date()
