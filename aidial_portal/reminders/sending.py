"""Sending reminders: claim a reminder's row, send its mail, record it; one run at a time per
reminder, and a mail server outage leaves what is unsent for the next run.

A reminder is due when it was never sent, or last sent on a day at least
`AIDIAL_REMINDER_INTERVAL_DAYS` days ago in the portal's time zone (a daily scheduler then
sends every interval's reminder on the same weekday). The mails say what is required, by when,
and where to go (Settings, Help, help@aidial.com.au): never a code, token or secret, which the
portal does not hold anyway.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from aidial_portal.accounts.models import Account
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.config import PortalConfig
from aidial_portal.mfa.policy import ROLE_TITLES
from aidial_portal.reminders.models import Reminder
from aidial_portal.reminders.selection import (
    Organisation,
    Person,
    has_address,
    not_enrolled_people,
    organisations,
)

logger = logging.getLogger("aidial_portal.reminders")

# A claim older than this belongs to a run that died: the reminder may be sent again.
STALE_CLAIM = timedelta(minutes=10)
HELP_ADDRESS = "help@aidial.com.au"
# The mail server did not answer at all: every further attempt of this run would fail too.
_OUTAGE = (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)


@dataclass
class Counts:
    due: int = 0
    sent: int = 0
    failed: int = 0

    def text(self, what: str, *, dry_run: bool) -> str:
        if dry_run:
            return f"{what}: {self.due} due (dry run: nothing sent)"
        return f"{what}: {self.due} due, {self.sent} sent, {self.failed} not sent"


@dataclass
class Run:
    people: Counts
    digests: Counts
    outage: bool = False


@dataclass(frozen=True)
class _Mail:
    reminder: Reminder
    build: Callable[[], EmailMultiAlternatives]
    account: Account | None
    details: dict[str, int]


def send_reminders(config: PortalConfig, *, dry_run: bool = False) -> Run:
    """Send every reminder that is due; with `dry_run` only count them."""
    now = timezone.now()
    run = Run(Counts(), Counts())
    connection = None if dry_run else get_connection(fail_silently=False)
    try:
        for counts, mail in _due_mails(config, now, run, create=not dry_run):
            if dry_run:
                counts.due += 1
            elif run.outage:
                counts.due += 1
                counts.failed += 1  # left for the next run
            elif _claim(mail.reminder, now, config):
                counts.due += 1
                _send(mail, connection, counts, run)
            # else: another run is sending it (or has just sent it): not this run's.
    finally:
        if connection is not None:
            connection.close()
    return run


def _due_mails(
    config: PortalConfig, now: datetime, run: Run, *, create: bool
) -> Iterator[tuple[Counts, _Mail]]:
    threshold = _due_before(now, config)
    for person in not_enrolled_people(config):
        if not has_address(person.account):
            continue
        reminder = _row(Reminder.PERSON, create=create, account=person.account)
        if _is_due(reminder, threshold):
            yield (
                run.people,
                _Mail(reminder, partial(_person_mail, person, config), person.account, {}),
            )
    for organisation in organisations(config):
        reminder = _row(Reminder.DIGEST, create=create, org_id=organisation.org_id)
        if _is_due(reminder, threshold):
            yield (
                run.digests,
                _Mail(
                    reminder,
                    partial(_digest_mail, organisation, config),
                    None,
                    {"people": len(organisation.people), "recipients": len(organisation.admins)},
                ),
            )


def _due_before(now: datetime, config: PortalConfig) -> datetime:
    """Reminders last sent before this moment are due: the start of the local day
    `interval - 1` days ago, so a daily run sends each one every `interval` days."""
    first_day = timezone.localdate(now) - timedelta(days=config.reminder_interval_days - 1)
    return timezone.make_aware(datetime.combine(first_day, datetime.min.time()))


def _is_due(reminder: Reminder, threshold: datetime) -> bool:
    return reminder.last_sent_at is None or reminder.last_sent_at < threshold


def _row(kind: str, *, create: bool, account: Account | None = None, org_id: str = "") -> Reminder:
    """The reminder's row; a dry run only reads it (an unsent reminder is a blank row)."""
    if not create:
        found = Reminder.objects.filter(kind=kind, account=account, org_id=org_id).first()
        return found or Reminder(kind=kind, account=account, org_id=org_id)
    try:
        with transaction.atomic():
            return Reminder.objects.get_or_create(kind=kind, account=account, org_id=org_id)[0]
    except IntegrityError:  # a concurrent run created it first
        return Reminder.objects.get(kind=kind, account=account, org_id=org_id)


def _claim(reminder: Reminder, now: datetime, config: PortalConfig) -> bool:
    """One conditional UPDATE: only one run can own a due reminder at a time."""
    due = Q(last_sent_at__isnull=True) | Q(last_sent_at__lt=_due_before(now, config))
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM)
    return Reminder.objects.filter(pk=reminder.pk).filter(due & free).update(claimed_at=now) == 1


def _send(mail: _Mail, connection: BaseEmailBackend | None, counts: Counts, run: Run) -> None:
    reminder = mail.reminder
    try:
        message = mail.build()
        message.connection = connection
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError, ValueError) as error:  # ValueError: a bad header
        Reminder.objects.filter(pk=reminder.pk).update(claimed_at=None)
        counts.failed += 1
        run.outage = run.outage or isinstance(error, _OUTAGE)
        logger.warning(
            "reminder_email_failed",
            extra={"reminder": reminder.pk, "error_type": type(error).__name__[:64]},
        )
        return
    sent_at = timezone.now()
    Reminder.objects.filter(pk=reminder.pk).update(
        claimed_at=None, last_sent_at=sent_at, times_sent=F("times_sent") + 1
    )
    record(
        EventTag.Mfa.REMINDER_SENT,
        account=mail.account,
        reason=reminder.kind,
        details=mail.details,
        at=sent_at,
    )
    counts.sent += 1
    logger.info("reminder_email_sent", extra={"reminder": reminder.pk})


# The mails ---------------------------------------------------------------------------------


def _links(config: PortalConfig) -> dict[str, Any]:
    base = config.base_url.rstrip("/")
    return {
        "settings_url": base + reverse("settings"),
        "help_url": base + reverse("help"),
        "report_url": base + reverse("administration:compliance"),
        "help_address": HELP_ADDRESS,
        "today": timezone.localdate(),
    }


def _person_mail(person: Person, config: PortalConfig) -> EmailMultiAlternatives:
    account = person.account
    days_left = (person.deadline - timezone.localdate()).days if person.deadline else 0
    context = {
        **_links(config),
        "name": account.display_name or account.login_name or account.email,
        "roles": [ROLE_TITLES.get(role, role) for role in account.roles],
        "deadline": person.deadline,
        "days_left": days_left,
        "days_left_text": "today is the last day"
        if days_left == 0
        else f"{days_left} day{'' if days_left == 1 else 's'} left",
    }
    return _mail(
        "Action needed: set up multi-factor authentication for the AiDial Portal",
        "reminders/person",
        context,
        [account.email],
        config,
    )


def _digest_mail(organisation: Organisation, config: PortalConfig) -> EmailMultiAlternatives:
    context = {**_links(config), "organisation": organisation}
    return _mail(
        f"MFA in {organisation.name}: {len(organisation.people)} "
        f"{'person' if len(organisation.people) == 1 else 'people'} not compliant",
        "reminders/digest",
        context,
        sorted(admin.email for admin in organisation.admins),
        config,
    )


def _mail(
    subject: str, template: str, context: dict[str, Any], to: list[str], config: PortalConfig
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),  # header lines never break
        body=render_to_string(f"{template}.txt", context),
        from_email=config.email_from,
        to=to,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message
