"""`aidial-portal reminders send [--dry-run]`: e-mail MFA reminders that are due.

To each person in a role that requires MFA who has not enrolled and has an e-mail address, and
one digest per organisation to its administrators, at most once per
AIDIAL_REMINDER_INTERVAL_DAYS. Prints the counts; exits non-zero when some could not be sent
(they are sent by the next run). Run it daily from a scheduler (see the README).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from aidial_portal.reminders.sending import send_reminders


class Command(BaseCommand):
    help = "MFA reminders: `send` e-mails those that are due (`--dry-run` only counts them)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        send = actions.add_parser("send", help="e-mail the reminders that are due")
        send.add_argument(
            "--dry-run", action="store_true", help="count what is due and send nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = settings.AIDIAL
        dry_run = bool(options.get("dry_run"))
        if not dry_run and not (config.email_host and config.email_from):
            raise CommandError(
                "E-mail is not configured: set AIDIAL_EMAIL_HOST and AIDIAL_EMAIL_FROM "
                "(see the README), or use --dry-run."
            )
        run = send_reminders(config, dry_run=dry_run)
        self.stdout.write(run.people.text("People", dry_run=dry_run))
        self.stdout.write(run.digests.text("Organisation digests", dry_run=dry_run))
        failed = run.people.failed + run.digests.failed
        if failed:
            why = "the mail server did not answer" if run.outage else "the mail server refused"
            raise CommandError(f"{failed} reminder(s) not sent ({why}); the next run sends them.")
