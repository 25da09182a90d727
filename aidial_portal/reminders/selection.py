"""Who is reminded: people in a role that requires MFA who have not enrolled, and, per
organisation, its administrators with the people there who are not compliant."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from aidial_portal.accounts.models import Account, RoleGrant
from aidial_portal.accounts.rollout import deadline_from, first_seen_by_account
from aidial_portal.config import PortalConfig
from aidial_portal.mfa.compliance import COMPLIANT_TAG, Reason
from aidial_portal.mfa.policy import Requirement

# The administrators of an organisation (Zitadel grants them per organisation).
ORGANISATION_ADMIN_ROLES = ("partner_admin", "client_admin")


@dataclass(frozen=True)
class Person:
    account: Account
    deadline: date | None  # the last day to enrol, when enrolment deadlines are on


@dataclass
class Organisation:
    org_id: str
    name: str
    people: list[Person] = field(default_factory=list)  # not compliant, role requires MFA
    admins: list[Account] = field(default_factory=list)  # with an e-mail address


def has_address(account: Account) -> bool:
    return "@" in account.email


def not_enrolled_people(config: PortalConfig) -> list[Person]:
    """Everyone whose role requires MFA and whose last sign-in showed no enrolment."""
    accounts = list(
        Account.objects.filter(
            requirement=Requirement.REQUIRED.value, last_status=Reason.NOT_ENROLLED.value
        ).order_by("id")
    )
    return _with_deadlines(accounts, config)


def organisations(config: PortalConfig) -> list[Organisation]:
    """Each organisation with people who are not compliant and administrators to tell about
    someone other than themselves."""
    accounts = {
        account.pk: account
        for account in Account.objects.filter(requirement=Requirement.REQUIRED.value).exclude(
            last_status=COMPLIANT_TAG
        )
    }
    people = {
        person.account.pk: person for person in _with_deadlines(list(accounts.values()), config)
    }
    found: dict[str, Organisation] = {}
    grants = RoleGrant.objects.filter(account_id__in=list(accounts)).order_by(
        "org_id", "account_id"
    )
    for grant in grants:
        organisation = found.setdefault(
            grant.org_id, Organisation(grant.org_id, grant.org_domain or grant.org_id)
        )
        person = people[grant.account_id]
        if person not in organisation.people:
            organisation.people.append(person)
    admins = RoleGrant.objects.filter(
        org_id__in=list(found), role__in=ORGANISATION_ADMIN_ROLES
    ).select_related("account")
    seen: dict[str, set[int]] = defaultdict(set)
    for grant in admins.order_by("org_id", "account_id"):
        if has_address(grant.account) and grant.account_id not in seen[grant.org_id]:
            seen[grant.org_id].add(grant.account_id)
            found[grant.org_id].admins.append(grant.account)
    # A digest that would only tell its administrators about themselves adds nothing to the
    # reminders they get.
    return [
        organisation
        for _, organisation in sorted(found.items())
        if any(person.account not in organisation.admins for person in organisation.people)
    ]


def _with_deadlines(accounts: list[Account], config: PortalConfig) -> list[Person]:
    first_seen = (
        first_seen_by_account(account.pk for account in accounts)
        if config.enrolment_grace_days > 0
        else {}
    )
    people = []
    for account in accounts:
        deadline = deadline_from(first_seen.get(account.pk), config)
        people.append(Person(account, deadline.last_day if deadline else None))
    return people
