"""`aidial-portal support resend`: e-mail the support requests that have not reached the team.

Retries every request whose e-mail failed, was never tried, or was left half-sent by a process
that stopped. Prints how many were sent and how many still fail; exits non-zero while any
still fail, so a scheduler notices. Needs the e-mail settings (see the README).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from aidial_portal.support.delivery import deliver, waiting
from aidial_portal.support.models import Delivery


class Command(BaseCommand):
    help = "Support requests: `resend` e-mails those that have not reached the AiDial team."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("resend", help="e-mail again every request whose e-mail failed")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.AIDIAL.support_email_enabled:
            raise CommandError(
                "Support e-mail is not configured: set AIDIAL_SUPPORT_EMAIL_TO, "
                "AIDIAL_EMAIL_HOST and AIDIAL_EMAIL_FROM."
            )
        outcomes = [deliver(support_request) for support_request in waiting()]
        sent = outcomes.count(Delivery.SENT)
        failed = len(outcomes) - sent
        self.stdout.write(
            f"{len(outcomes)} support request(s) waiting; {sent} e-mailed, {failed} still failing."
        )
        if failed:
            raise CommandError(
                f"{failed} support request(s) could not be e-mailed; they stay in the requests "
                "list. Check the e-mail settings and the SMTP server, then run this again."
            )
