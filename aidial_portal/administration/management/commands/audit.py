"""`aidial-portal audit export|purge`: security events out as JSON Lines, and retention.

- `audit export --since ISO8601 [--until ISO8601]` writes one JSON object per event to stdout,
  oldest first. Times without a zone are read as UTC.
- `audit purge --before ISO8601 [--dry-run]` deletes events older than `--before`, which must
  lie outside the retention period (`AIDIAL_AUDIT_RETENTION_DAYS`, 400 days by default), then
  records an `audit_purged` event saying how many went and why.

The app offers no edit or delete of events; this command is the one way to remove them, and
it leaves a trace.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from aidial_portal.administration.retention import retention_days
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.audit.recording import record

PURGE_BATCH = 5000


def parse_moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"not an ISO 8601 date or time: {value!r}") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def event_line(event: SecurityEvent) -> str:
    return json.dumps(
        {
            "id": event.pk,
            "at": event.at.astimezone(UTC).isoformat(),
            "event_type": event.event_type,
            "account_id": event.account_id,
            "session_hash": event.session_hash or None,
            "reason": event.reason or None,
            "details": event.details,
        },
        separators=(",", ":"),
        sort_keys=True,
    )


class Command(BaseCommand):
    help = "Export security events as JSON Lines, or purge those older than the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        export = commands.add_parser("export", help="write events as JSON Lines to stdout")
        export.add_argument("--since", required=True, help="ISO 8601; inclusive")
        export.add_argument("--until", help="ISO 8601; exclusive (default: now)")
        purge = commands.add_parser(
            "purge", help="delete events older than --before, outside the retention period"
        )
        purge.add_argument("--before", required=True, help="ISO 8601; events before it go")
        purge.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            self.export(options["since"], options.get("until"))
        else:
            self.purge(options["before"], dry_run=options["dry_run"])

    def export(self, since_text: str, until_text: str | None) -> None:
        since = parse_moment(since_text)
        until = parse_moment(until_text) if until_text else timezone.now()
        if until <= since:
            raise CommandError("--until must be later than --since")
        events = SecurityEvent.objects.filter(at__gte=since, at__lt=until).order_by("at", "pk")
        count = 0
        for event in events.iterator(chunk_size=2000):
            self.stdout.write(event_line(event))
            count += 1
        record(
            EventTag.Administration.AUDIT_EXPORTED,
            reason="cli",
            details={
                "events": count,
                "since_epoch": int(since.timestamp()),
                "until_epoch": int(until.timestamp()),
            },
        )

    def purge(self, before_text: str, *, dry_run: bool) -> None:
        before = parse_moment(before_text)
        days = retention_days()
        earliest_allowed = timezone.now() - timedelta(days=days)
        if before > earliest_allowed:
            raise CommandError(
                f"refusing to purge: --before {before.isoformat()} lies inside the retention "
                f"period of {days} days (AIDIAL_AUDIT_RETENTION_DAYS); the latest allowed is "
                f"{earliest_allowed.isoformat(timespec='seconds')}"
            )
        old = SecurityEvent.objects.filter(at__lt=before)
        if dry_run:
            self.stderr.write(f"{old.count()} events before {before.isoformat()} would be purged")
            return
        deleted = 0
        with transaction.atomic():
            while True:
                batch = list(old.values_list("pk", flat=True)[:PURGE_BATCH])
                if not batch:
                    break
                # The app's queryset refuses delete(); retention is the one sanctioned way out,
                # so it bypasses that guard with Django's raw delete, and leaves a record below.
                rows = SecurityEvent.objects.filter(pk__in=batch)
                deleted += rows._raw_delete(rows.db)
            record(
                EventTag.Administration.AUDIT_PURGED,
                reason="retention",
                details={
                    "deleted": deleted,
                    "retention_days": days,
                    "before_epoch": int(before.timestamp()),
                },
            )
        self.stderr.write(f"purged {deleted} events before {before.isoformat()}")
