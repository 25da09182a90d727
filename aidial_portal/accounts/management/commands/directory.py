"""`aidial-portal directory sync`: accounts and grants from Zitadel's directory.

Reads the project's authorizations, the people they name, the organisations and each person's
authentication methods with the service user, then writes what changed in one transaction
(`accounts.directory_sync`). Prints one summary line and exits 0. On any provider error it
exits 1, names the setting or permission to fix, and changes nothing. One run at a time: a run
that finds another in progress exits 2 saying so. Meant for a scheduler every 15 minutes
(README, "Operations").
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from aidial_portal.accounts import directory_sync
from aidial_portal.identity.zitadel_directory import DirectoryUnavailable

DEFAULT_CONCURRENCY = 8
BUSY_EXIT = 2


class Command(BaseCommand):
    help = "Zitadel's directory: `sync` brings accounts and role grants up to date."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        sync = commands.add_parser(
            "sync", help="Read the project's people, roles and enrolment from Zitadel."
        )
        sync.add_argument(
            "--concurrency",
            type=int,
            default=DEFAULT_CONCURRENCY,
            help=f"Authentication-method reads at once (default {DEFAULT_CONCURRENCY}).",
        )
        sync.add_argument(
            "--timeout",
            type=float,
            default=10.0,
            help="Seconds to wait for each Zitadel answer (default 10).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        concurrency, timeout = options["concurrency"], options["timeout"]
        if not 1 <= concurrency <= 64:
            raise CommandError("--concurrency must be between 1 and 64")
        if not 0 < timeout <= 120:
            raise CommandError("--timeout must be more than 0 and at most 120 seconds")
        now = timezone.now()
        try:
            with directory_sync.run_lock(now):
                directory = directory_sync.directory_from_settings(timeout=timeout)
                snapshot = directory_sync.read(
                    directory, project_id=settings.AIDIAL.project_id, concurrency=concurrency
                )
                counts = directory_sync.apply(
                    snapshot, now=now, today=directory_sync.today_local(now)
                )
        except directory_sync.SyncBusy:
            self.stderr.write("directory sync: another run is in progress; nothing done")
            sys.exit(BUSY_EXIT)
        except DirectoryUnavailable as error:
            raise CommandError(
                f"directory sync: Zitadel could not be read ({error.reason}): {error.fix}. "
                "Nothing was changed."
            ) from None
        self.stdout.write(counts.summary())
