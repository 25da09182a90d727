"""3. Scale in accounts: the Settings page and security-event writes with 1,000 accounts
against 100,000 accounts, with their markers and events.

Two throwaway databases side by side (temporary SQLite files, or `bench_scale_small` and
`bench_scale_large` on the PostgreSQL server AIDIAL_DATABASE_URL points at), populated with
bulk_create and then sampled alternately in this process through Django's test Client.
"""

from __future__ import annotations

import copy
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.options import Options
from benchmarks.report import machine, median, percentile, ratio, table

BATCH = 2_000
ROLES = (
    ("partner_admin",),
    ("client_admin",),
    ("client_staff",),
    ("aidial_operator",),
    ("client_manager", "partner_user"),
)
EVENT_KINDS = (
    "sign_in_succeeded",
    "enrolment_observed",
    "recovery_codes_acknowledged",
    "gate_denied",
    "refresh_completed",
    "signed_out",
)
GOAL = 1.2
LARGE_DATABASE_ENV = "BENCH_SCALE_LARGE_DATABASE_URL"


def subject(index: int) -> str:
    return f"bench-{index:07d}"


def _memo(adapt: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`adapt`, remembering its answers (the populations repeat a few thousand values)."""
    answers: dict[str, Any] = {}

    def adapted(value: Any) -> Any:
        key = repr(value)
        if key not in answers:
            answers[key] = adapt(value)
        return answers[key]

    return adapted


def _insert(model: Any, rows: list[dict[str, Any]], *, with_id: bool) -> None:
    """INSERT `rows` (attribute name -> Python value) with one executemany.

    bulk_create spends about 0.4 ms a row in the query compiler on this kind of machine (40 s
    for 100,000 accounts); values here are adapted by the backend's own operations instead.
    """
    from django.db import connection, models

    columns = [
        column
        for column in model._meta.concrete_fields
        if with_id or not isinstance(column, models.AutoField | models.BigAutoField)
    ]
    adapters: list[Any] = []
    for column in columns:
        if isinstance(column, models.DateTimeField):
            adapters.append(_memo(connection.ops.adapt_datetimefield_value))
        elif isinstance(column, models.JSONField):
            adapters.append(
                _memo(functools.partial(column.get_db_prep_save, connection=connection))
            )
        else:
            adapters.append(None)
    defaults = {column.attname: column.get_default() for column in columns}
    quote = connection.ops.quote_name
    statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the models
        quote(model._meta.db_table),
        ", ".join(quote(column.column) for column in columns),
        ", ".join(["%s"] * len(columns)),
    )
    values = [
        tuple(
            adapt(row.get(column.attname, defaults[column.attname]))
            if adapt
            else row.get(column.attname, defaults[column.attname])
            for column, adapt in zip(columns, adapters, strict=True)
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, values)


def populate(start: int, count: int, events_per_account: int) -> None:
    """Accounts with ids `start+1 .. start+count`, lifecycle markers set on most of them and
    `events_per_account` security events each, spread over the last 90 days."""
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone

    from aidial_portal.accounts.models import Account, identity_key
    from aidial_portal.audit.models import SecurityEvent
    from benchmarks.portal import ISSUER

    now = timezone.now()
    for offset in range(start, start + count, BATCH):
        accounts: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for index in range(offset, min(start + count, offset + BATCH)):
            pk = index + 1
            enrolled = index % 3 != 0
            accounts.append(
                {
                    "id": pk,
                    "password": "!",  # unusable, as for every provider account
                    "identity_key": identity_key(ISSUER, subject(index)),
                    "issuer": ISSUER,
                    "subject": subject(index),
                    "login_name": f"{subject(index)}@bench.test",
                    "org_id": f"org-{index % 500}",
                    "roles": list(ROLES[index % len(ROLES)]),
                    "requirement": "required" if index % 5 in (0, 3) else "optional",
                    "created_at": now - timedelta(days=index % 365),
                    "last_sign_in_at": now - timedelta(minutes=index % 1_440),
                    "last_factor": "totp" if enrolled else "",
                    "last_status": "compliant" if enrolled else "not_enrolled",
                    "recovery_codes_observed": enrolled,
                    "ever_enrolled": enrolled,
                    "enrolled_observed": enrolled,
                    "enrolment_observed_at": now - timedelta(days=index % 90) if enrolled else None,
                    "ack_pending": "enrolment" if index % 7 == 0 and enrolled else "",
                    "ack_pending_since": now - timedelta(days=1) if index % 7 == 0 else None,
                    "acknowledged_at": now - timedelta(days=index % 30) if index % 7 else None,
                    "reminder_since": now - timedelta(days=2) if index % 11 == 0 else None,
                }
            )
            events.extend(
                {
                    "event_type": EVENT_KINDS[(pk + n) % len(EVENT_KINDS)],
                    "at": now - timedelta(hours=(pk * 7 + n * 131) % (90 * 24)),
                    "account_id": pk,
                    "session_hash": f"{pk:016x}{n:016x}",
                    "reason": "",
                    "details": {"method": "get"},
                }
                for n in range(events_per_account)
            )
        with transaction.atomic():
            _insert(Account, accounts, with_id=True)
            _insert(SecurityEvent, events, with_id=False)
    # Explicit ids leave PostgreSQL's sequences behind; move them past the new rows.
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Account, SecurityEvent]):
            cursor.execute(statement)


@dataclass
class Timings:
    accounts: int
    events: int = 0
    settings_page: list[float] = field(default_factory=list)
    event_write: list[float] = field(default_factory=list)


def database(url: str) -> Any:
    """A second connection object for the `default` alias, to a database of its own."""
    from django.db import connections
    from django.db.utils import load_backend

    from aidial_portal.database_url import parse_database_url

    settings_dict = copy.deepcopy(connections.settings["default"])
    parsed = parse_database_url(url, default_sqlite=Path(settings_dict["NAME"]))
    settings_dict.update(parsed)
    backend = load_backend(settings_dict["ENGINE"])
    return backend.DatabaseWrapper(settings_dict, alias="default")


@contextmanager
def using(wrapper: Any) -> Iterator[None]:
    """Everything on the `default` alias (ORM, sessions, transactions) goes to `wrapper`."""
    from django.db import connections

    previous = connections["default"]
    connections["default"] = wrapper
    try:
        yield
    finally:
        connections["default"] = previous


def sample(client: Any, who: Any, timings: Timings) -> None:
    """One Settings render and one security-event write, each timed."""
    from aidial_portal.audit.events import EventTag
    from aidial_portal.audit.recording import record

    started = time.perf_counter()
    response = client.get("/settings/")
    timings.settings_page.append(time.perf_counter() - started)
    if response.status_code != 200:
        raise RuntimeError(f"/settings/ answered {response.status_code}")
    started = time.perf_counter()
    record(
        EventTag.Session.GATE_DENIED,
        account=who,
        session_key=client.session.session_key,
        reason="mfa_stale",
        details={"method": "get"},
    )
    timings.event_write.append(time.perf_counter() - started)


def measure(accounts: int, client: Any, who: Any, samples: int) -> Timings:
    """`samples` Settings renders and event writes on the current database, after a warm-up."""
    timings = Timings(accounts)
    for _ in range(5):
        sample(client, who, timings)
    timings.settings_page.clear()
    timings.event_write.clear()
    for _ in range(samples):
        sample(client, who, timings)
    return timings


def side_by_side(
    small: Any, large: Any, sizes: tuple[int, int], events_per_account: int, samples: int
) -> tuple[Timings, Timings, dict[str, float]]:
    """Populate both databases, then alternate samples between them (small, large, large,
    small, ...) so that the machine's drift (other work, disk flushes) falls on both alike.
    Returns both timings and the seconds spent populating each."""
    from benchmarks.portal import account, signed_in_client

    spent: dict[str, float] = {}
    subjects: dict[str, tuple[Any, Any, Timings]] = {}
    for name, wrapper, size in (("small", small, sizes[0]), ("large", large, sizes[1])):
        with using(wrapper):
            started = time.perf_counter()
            populate(0, size, events_per_account)
            spent[name] = time.perf_counter() - started
            who = account(subject(0))  # one of the population, markers and events included
            subjects[name] = (signed_in_client(who), who, Timings(size))
    order = [("small", small), ("large", large)]
    for index in range(samples + 5):
        for name, wrapper in order if index % 2 == 0 else order[::-1]:
            client, who, timings = subjects[name]
            with using(wrapper):
                sample(client, who, timings)
    from aidial_portal.accounts.models import Account
    from aidial_portal.audit.models import SecurityEvent

    for name, wrapper in order:
        with using(wrapper):
            accounts, events = Account.objects.count(), SecurityEvent.objects.count()
        timings = subjects[name][2]
        if accounts != timings.accounts:
            raise RuntimeError(f"the {name} database holds {accounts} accounts")
        timings.events = events
        del timings.settings_page[:5], timings.event_write[:5]  # warm-up
    return subjects["small"][2], subjects["large"][2], spent


def main(options: Options) -> None:
    from benchmarks import infra

    infra.django_ready()  # before anything imports models
    from django.core.management import call_command

    from benchmarks.portal import database_description

    small_db = database(os.environ["AIDIAL_DATABASE_URL"])
    large_db = database(os.environ[LARGE_DATABASE_ENV])
    for wrapper in (small_db, large_db):
        with using(wrapper):
            call_command("migrate", verbosity=0, interactive=False)
    small, large, spent = side_by_side(
        small_db,
        large_db,
        (options.scale_small, options.scale_large),
        options.scale_events_per_account,
        options.scale_samples,
    )
    with using(large_db):
        description = database_description()
    rows: list[list[Any]] = []
    ratios: list[float] = []
    for label, attr in (
        ("Settings page (ms)", "settings_page"),
        ("event write (ms)", "event_write"),
    ):
        a = [value * 1000 for value in getattr(small, attr)]
        b = [value * 1000 for value in getattr(large, attr)]
        ratios.append(ratio(median(b), median(a)))
        rows.append(
            [
                label,
                median(a),
                percentile(a, 0.9),
                median(b),
                percentile(b, 0.9),
                ratio(median(b), median(a)),
            ]
        )
    print(
        table(
            f"3. Scale in accounts: {options.scale_small:,} vs {options.scale_large:,} accounts "
            f"({options.scale_events_per_account} events each), {options.scale_samples} samples",
            [
                "",
                f"{small.accounts:,} median",
                "p90",
                f"{large.accounts:,} median",
                "p90",
                "ratio of medians",
            ],
            rows,
        )
    )
    worst = max(ratios)
    print(
        f"goal: ratio <= {GOAL} -> {'met' if worst <= GOAL else 'NOT met'}; two databases, "
        f"populated in {spent['small']:.1f} s and {spent['large']:.1f} s (batched INSERTs), "
        "sampled alternately; Settings through Django's test Client for one signed-in account "
        "of each population; event writes through record(), one transaction each"
    )
    print(
        f"at the end: {small.accounts:,} accounts and {small.events:,} events against "
        f"{large.accounts:,} accounts and {large.events:,} events"
    )
    print(machine(description))


if __name__ == "__main__":
    main(Options.from_json(sys.argv[1]))
