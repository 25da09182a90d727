"""`aidial-portal sessions revalidate`: end portal sessions whose Zitadel session has ended.

For a scheduler, when no back-channel message came (the portal was down, a message was lost).
For each live portal session it reads its Zitadel session through the Session API, with at
most `--concurrency` reads at once; a session that no longer exists at the provider (404) or
has expired there is ended, with a `session_ended_at_provider` event. An unreachable provider,
a timeout, a 5xx or a refused token ends nothing: those sessions are counted as unreadable.
Safe on one instance or on several at once: ending is idempotent and each ended session is
counted (and recorded) by the run that ended it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from aidial_portal import metrics
from aidial_portal.audit.events import EventTag
from aidial_portal.audit.recording import record
from aidial_portal.identity import providers
from aidial_portal.identity.session_status import SessionStatus, SessionStatusReader, State
from aidial_portal.sessions import index

DEFAULT_CONCURRENCY = 8


class Command(BaseCommand):
    help = "Portal sessions and the provider's: `revalidate` ends those ended at Zitadel."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        revalidate = commands.add_parser(
            "revalidate", help="End portal sessions whose Zitadel session has ended."
        )
        revalidate.add_argument(
            "--concurrency",
            type=int,
            default=DEFAULT_CONCURRENCY,
            help=f"Session API reads at once (default {DEFAULT_CONCURRENCY}).",
        )
        revalidate.add_argument(
            "--timeout",
            type=float,
            default=3.0,
            help="Seconds to wait for each Session API answer (default 3).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        concurrency, timeout = options["concurrency"], options["timeout"]
        if not 1 <= concurrency <= 64:
            raise CommandError("--concurrency must be between 1 and 64")
        if not 0 < timeout <= 60:
            raise CommandError("--timeout must be more than 0 and at most 60 seconds")
        reader = SessionStatusReader(
            settings.AIDIAL.api_url, providers.service_credentials(), timeout=timeout
        )
        try:
            summary = revalidate(reader, now=timezone.now(), concurrency=concurrency)
        finally:
            reader.close()
        self.stdout.write(
            f"checked {summary['checked']}, ended {summary['ended']}, "
            f"unreadable {summary['unreadable']}"
        )
        if summary["unreadable"]:
            reasons = ", ".join(
                f"{reason} {count}" for reason, count in sorted(summary["reasons"].items())
            )
            self.stderr.write(f"unreadable: {reasons}")


def revalidate(reader: SessionStatusReader, *, now: datetime, concurrency: int) -> dict[str, Any]:
    """Check every live binding; returns counts (`checked`, `ended`, `unreadable`, `reasons`)."""
    index.purge_expired(now)
    store = index.session_store()
    summary: dict[str, Any] = {"checked": 0, "ended": 0, "unreadable": 0, "reasons": Counter()}
    live = (bound for bound in index.live_bindings(now) if _still_stored(bound, store))
    for bound, status in _read_all(reader, live, now=now, concurrency=concurrency):
        summary["checked"] += 1
        if status.state is State.UNREADABLE:
            summary["unreadable"] += 1
            summary["reasons"][status.reason] += 1
        elif status.state is State.ENDED and index.end(bound.stored_key, store=store):
            summary["ended"] += 1
            metrics.SESSIONS_ENDED.labels(reason="revalidation").inc()
            record(
                EventTag.Session.ENDED_AT_PROVIDER,
                account_id=bound.account_id,
                reason=status.reason,
            )
    return summary


def _still_stored(bound: index.Bound, store: Any) -> bool:
    # A session that ended without its binding noticing (idle expiry in Redis): tidy up.
    if store.exists_stored(bound.stored_key):
        return True
    index.forget(bound.stored_key)
    return False


def _read_all(
    reader: SessionStatusReader,
    bindings: Iterable[index.Bound],
    *,
    now: datetime,
    concurrency: int,
) -> Iterator[tuple[index.Bound, SessionStatus]]:
    """Read each binding's Zitadel session, never more than `concurrency` at once."""
    pending = iter(bindings)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="revalidate") as pool:
        running: dict[Future[SessionStatus], index.Bound] = {}

        def submit(batch: Iterable[index.Bound]) -> None:
            for bound in batch:
                running[pool.submit(_read, reader, bound.sid, now)] = bound

        submit(islice(pending, concurrency))
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield running.pop(future), future.result()
            submit(islice(pending, len(done)))


def _read(reader: SessionStatusReader, sid: str, now: datetime) -> SessionStatus:
    try:
        return reader.read(sid, now=now)
    except Exception:  # a bug in one read must not end, or stop checking, the others
        return SessionStatus(State.UNREADABLE, "provider_error")
