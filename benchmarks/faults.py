"""Faults under load: two portal instances and 50 clients while Redis, then PostgreSQL, stops
for 5 s and comes back.

Everything is the benchmark's own: a PostgreSQL cluster and a Redis server on free ports
(`benchmarks.services`), two `aidial-portal serve` instances on them. Each client has its own
account and compliant session (made in this process, stored in that Redis) and its own CSRF
cookie, and loops on its instance: `GET /` (the gated dashboard) then
`POST /settings/manage-mfa/` (writes the `management_launched_at` marker and one
`management_launched` security event, in one transaction).

Per phase (before, Redis down, after Redis returns, PostgreSQL down, after it returns): how
many answers were 200 (or the POST's 302 to the provider), 503, anything else, or no answer;
and the time from the service answering again until the last failed request. After the run,
each account's events and marker are compared with the POSTs its client saw succeed.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.options import Options
from benchmarks.report import machine, table

DASHBOARD = "/"
MANAGE = "/settings/manage-mfa/"
DATABASE = "aidial_faults"
TIMEOUT = 15.0


@dataclass(frozen=True)
class Client:
    index: int
    port: int
    cookie: str
    csrf: str


# (client, kind "get"/"post", sent, done, outcome): outcome is "ok", "503", "HTTP <n>" or the
# name of the network error. Times are wall-clock (time.time()) so that processes agree.
Sample = tuple[int, str, float, float, str]


def _one(connection: http.client.HTTPConnection, client: Client, kind: str) -> str:
    headers = {"Cookie": client.cookie, "Accept": "text/html"}
    if kind == "get":
        connection.request("GET", DASHBOARD, headers=headers)
    else:
        headers["X-CSRFToken"] = client.csrf
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request("POST", MANAGE, body=b"", headers=headers)
    response = connection.getresponse()
    response.read()
    expected = 200 if kind == "get" else 302
    if response.status == expected and (
        kind == "get" or "/login/" not in (response.getheader("Location") or "")
    ):
        return "ok"
    if response.status == 503:
        return "503"
    location = response.getheader("Location") or ""
    return f"HTTP {response.status}" + (f" to {location.split('?')[0]}" if location else "")


def _client_loop(client: Client, stop_file: str, out: list[Sample], lock: threading.Lock) -> None:
    mine: list[Sample] = []
    connection = http.client.HTTPConnection("127.0.0.1", client.port, timeout=TIMEOUT)
    kinds = ("get", "post")
    turn = 0
    while not os.path.exists(stop_file):
        kind = kinds[turn % 2]
        turn += 1
        sent = time.time()
        try:
            outcome = _one(connection, client, kind)
        except (OSError, http.client.HTTPException) as error:
            outcome = type(error).__name__
            connection.close()
            time.sleep(0.02)
        mine.append((client.index, kind, sent, time.time(), outcome))
    connection.close()
    with lock:
        out.extend(mine)


def run_clients(clients: Sequence[Client], stop_file: str) -> list[Sample]:
    """Every client in a thread of this process until `stop_file` exists."""
    out: list[Sample] = []
    lock = threading.Lock()
    threads = [
        threading.Thread(target=_client_loop, args=(c, stop_file, out, lock), daemon=True)
        for c in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return out


@dataclass
class Phase:
    name: str
    start: float
    end: float
    returned: float | None = None  # when the service answered again (recovery phases)
    outcomes: Counter[str] = field(default_factory=Counter)
    last_failure: float = 0.0  # wall time the last failed request of the phase ended
    last_success: float = 0.0

    @property
    def recovery(self) -> float | None:
        """Seconds from `returned` to the end of the last failed request; None when no request
        succeeded after it (not recovered within the phase)."""
        if self.returned is None or self.last_failure == 0.0:
            return 0.0
        if self.last_success < self.last_failure:
            return None
        return max(0.0, self.last_failure - self.returned)


def phases_of(marks: dict[str, float]) -> list[Phase]:
    return [
        Phase("before", marks["start"], marks["redis_down"]),
        Phase("Redis down", marks["redis_down"], marks["redis_back"]),
        Phase("after Redis returns", marks["redis_back"], marks["pg_down"], marks["redis_back"]),
        Phase("PostgreSQL down", marks["pg_down"], marks["pg_back"]),
        # Until every request has ended: one still waiting at the end counts here too.
        Phase("after PostgreSQL returns", marks["pg_back"], float("inf"), marks["pg_back"]),
    ]


def classify(samples: Sequence[Sample], phases: list[Phase]) -> None:
    """Each answer counts in the phase in which the client got it (a request in flight when
    a service stops fails then, in the outage)."""
    for _, _, _, done, outcome in samples:
        for phase in phases:
            if phase.start <= done < phase.end:
                phase.outcomes[outcome] += 1
                if outcome == "ok":
                    phase.last_success = max(phase.last_success, done)
                else:
                    phase.last_failure = max(phase.last_failure, done)
                break


@dataclass
class Writes:
    seen_ok: int = 0  # POSTs the clients saw succeed
    events: int = 0  # management_launched events in the database
    lost_events: int = 0  # accounts: fewer events than successes seen (sum of the shortfall)
    unseen_events: int = 0  # events of requests whose client saw a failure (no harm)
    markers_behind: int = 0  # accounts whose marker is older than their last success


def compare_writes(samples: Sequence[Sample], account_ids: Sequence[int]) -> Writes:
    """Each account's `management_launched` events and marker against its client's view."""
    from datetime import UTC, datetime

    from django.db.models import Count

    from aidial_portal.accounts.models import Account
    from aidial_portal.audit.models import SecurityEvent

    ok: Counter[int] = Counter()
    last_ok_sent: dict[int, float] = {}
    for index, kind, sent, _, outcome in samples:
        if kind == "post" and outcome == "ok":
            ok[index] += 1
            last_ok_sent[index] = max(last_ok_sent.get(index, 0.0), sent)
    counts = dict(
        SecurityEvent.objects.filter(event_type="management_launched", account_id__in=account_ids)
        .values_list("account_id")
        .annotate(n=Count("id"))
        .values_list("account_id", "n")
    )
    markers = dict(
        Account.objects.filter(pk__in=account_ids).values_list("pk", "management_launched_at")
    )
    writes = Writes(seen_ok=sum(ok.values()), events=sum(counts.values()))
    for index, pk in enumerate(account_ids):
        stored = counts.get(pk, 0)
        writes.lost_events += max(0, ok[index] - stored)
        writes.unseen_events += max(0, stored - ok[index])
        if index in last_ok_sent:
            marker = markers.get(pk)
            # The marker is set during the request, so never before the request was sent
            # (a second of slack for clock granularity).
            if marker is None or marker < datetime.fromtimestamp(last_ok_sent[index] - 1, UTC):
                writes.markers_behind += 1
    return writes


def _recovery(phase: Phase) -> str:
    if phase.returned is None:
        return ""
    recovery = phase.recovery
    return f"{recovery:.2f}" if recovery is not None else "NOT recovered"


def main(options: Options) -> None:
    from benchmarks import infra, services

    work = Path(options.work_dir)
    pg = services.PostgresCluster(work / "postgres")
    redis = services.RedisServer(work / "redis")
    try:
        pg.start()
        redis.start()
        import psycopg

        with psycopg.connect(pg.url, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
        os.environ["AIDIAL_DATABASE_URL"] = pg.database_url(DATABASE)
        os.environ["AIDIAL_REDIS_URL"] = redis.url
        run(options, pg, redis, work)
    finally:
        redis.stop()
        pg.stop("immediate")
        services.stop_leftovers(work)
    del infra


def run(options: Options, pg: Any, redis: Any, work: Path) -> None:  # noqa: PLR0915 - one linear script
    from benchmarks import infra

    infra.django_ready()

    from aidial_portal.accounts.models import Account
    from benchmarks import portal

    accounts = [
        # An optional role with TOTP verified just now: managing MFA at the provider is allowed.
        portal.account(f"bench-faults-{index:03d}", roles=("client_staff",))
        for index in range(options.fault_clients)
    ]
    signed_in = [portal.signed_in_client(who) for who in accounts]
    from django.db import connections

    connections.close_all()  # this process holds no connection through the outage

    stop_file = str(work / "stop-clients")
    with infra.portal_servers(
        dict(os.environ), work, 2, workers=options.workers, threads=options.threads
    ) as servers:
        clients = []
        for index, browser in enumerate(signed_in):
            server = servers[index % 2]
            csrf = portal.csrf_secret()
            cookie = portal.browser_cookie(browser, csrf)
            clients.append(Client(index, server.port, cookie, csrf))
            status = infra.get_status(server.host, server.port, DASHBOARD, cookie)
            if status != "200":
                raise SystemExit(f"a session answers {status} on port {server.port}, not 200")
        shares = [clients[i :: options.load_processes] for i in range(options.load_processes)]
        marks: dict[str, float] = {}
        with ProcessPoolExecutor(
            max_workers=options.load_processes, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            futures = [pool.submit(run_clients, share, stop_file) for share in shares if share]
            try:
                time.sleep(1.0)  # the clients connect and warm up; not counted
                marks["start"] = time.time()
                time.sleep(options.fault_steady)
                marks["redis_down"] = time.time()
                redis.stop()
                marks["redis_stopped"] = time.time()
                time.sleep(options.fault_outage)
                marks["redis_starting"] = time.time()
                redis.start()
                marks["redis_back"] = time.time()
                time.sleep(options.fault_steady)
                marks["pg_down"] = time.time()
                pg.stop("immediate")
                marks["pg_stopped"] = time.time()
                time.sleep(options.fault_outage)
                marks["pg_starting"] = time.time()
                pg.start()
                marks["pg_back"] = time.time()
                time.sleep(options.fault_steady)
                marks["end"] = time.time()
            finally:
                Path(stop_file).touch()
            samples = [sample for future in futures for sample in future.result()]
        logs = "".join(server.log_path.read_text(errors="replace") for server in servers)

    phases = phases_of(marks)
    classify(samples, phases)
    writes = compare_writes(samples, [who.pk for who in accounts])
    del Account
    rows = []
    for phase in phases:
        other = {k: v for k, v in phase.outcomes.items() if k not in ("ok", "503")}
        rows.append(
            [
                phase.name,
                f"{min(phase.end, marks['end']) - phase.start:.1f}",
                phase.outcomes["ok"],
                phase.outcomes["503"],
                sum(other.values()),
                "; ".join(f"{k} x{v}" for k, v in sorted(other.items())) or "-",
                _recovery(phase),
            ]
        )
    print(
        table(
            f"7. Faults under load: {options.fault_clients} clients, 2 instances, Redis then "
            f"PostgreSQL stopped for {options.fault_outage:g} s",
            ["phase", "seconds", "200/302", "503", "other", "which", "recovery (s)"],
            rows,
        )
    )
    five_hundreds = logs.count('"unhandled_error"')
    print(
        "services: Redis stopped in {:.2f} s, down {:.2f} s, answering {:.2f} s after its start; "
        "PostgreSQL stopped in {:.2f} s, down {:.2f} s, answering {:.2f} s after its start".format(
            marks["redis_stopped"] - marks["redis_down"],
            marks["redis_back"] - marks["redis_stopped"],
            marks["redis_back"] - marks["redis_starting"],
            marks["pg_stopped"] - marks["pg_down"],
            marks["pg_back"] - marks["pg_stopped"],
            marks["pg_back"] - marks["pg_starting"],
        )
    )
    print(
        f"writes: {writes.seen_ok:,} POSTs seen to succeed, {writes.events:,} events stored; "
        f"lost: {writes.lost_events} events, {writes.markers_behind} markers behind; "
        f"{writes.unseen_events} stored for requests whose client saw a failure (not lost); "
        f"server logs: {five_hundreds} unhandled errors"
    )
    print(
        "goal: no status but 200/302 and 503, recovery <= 2 s, nothing lost; recovery = from "
        "the service answering again to the end of the last failed request (every later one "
        "succeeded); "
        f"each instance: aidial-portal serve --workers {options.workers} --threads "
        f"{options.threads}; PostgreSQL stopped with pg_ctl -m immediate (a crash), Redis with "
        "SHUTDOWN SAVE (its snapshot brings the sessions back)"
    )
    print(machine(portal.database_description() + " and Redis of the benchmark's own"))


if __name__ == "__main__":
    main(Options.from_json(sys.argv[1]))
