"""1. Gate overhead: the same protected page, gated and exempt, served by `aidial-portal serve`.

Run by `python -m benchmarks` in a child process whose environment points Django at a throwaway
database (and Redis when it answers); the server gets the very same environment.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.loadgen import LoadGenerator, LoadResult, Target
from benchmarks.options import Options
from benchmarks.report import machine, median, ratio, table

GOAL = 0.97


# -- the gate's own queries and network calls (in-process) ------------------------------------


@dataclass(frozen=True)
class GateCost:
    allowed: bool  # the gate let the compliant session through
    queries: int
    connects: int  # socket connects and name look-ups
    sends: int  # data sent on any Python socket (a Redis command, an HTTP request)


@contextmanager
def count_network() -> Iterator[dict[str, int]]:
    """Counts `socket.connect`/`connect_ex`, `getaddrinfo` and `send`/`sendall` while open.

    (PostgreSQL talks through libpq, not Python sockets: its queries are counted separately.)
    """
    seen = {"connects": 0, "sends": 0}
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_send, real_sendall = socket.socket.send, socket.socket.sendall
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        seen["connects"] += 1
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        seen["connects"] += 1
        return real_connect_ex(self, address)

    def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        seen["connects"] += 1
        return real_getaddrinfo(*args, **kwargs)

    def send(self: socket.socket, data: Any, *args: Any) -> int:
        seen["sends"] += 1
        return real_send(self, data, *args)

    def sendall(self: socket.socket, data: Any, *args: Any) -> None:
        seen["sends"] += 1
        real_sendall(self, data, *args)

    with (
        mock.patch.object(socket.socket, "connect", connect),
        mock.patch.object(socket.socket, "connect_ex", connect_ex),
        mock.patch.object(socket, "getaddrinfo", getaddrinfo),
        mock.patch.object(socket.socket, "send", send),
        mock.patch.object(socket.socket, "sendall", sendall),
    ):
        yield seen


def gate_cost(session_key: str, view: Callable[..., Any], *, session_loaded: bool) -> GateCost:
    """`MfaGateMiddleware.process_view` for one request carrying `session_key`.

    With `session_loaded`, the session is read before counting: the session middleware's lazy
    store is read by the view in any case, so what remains is the gate's own work.
    """
    from importlib import import_module

    from django.conf import settings
    from django.db import connection
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext

    from aidial_portal.accounts import session_state
    from aidial_portal.web.gate import MfaGateMiddleware

    engine = import_module(settings.SESSION_ENGINE)
    request: Any = RequestFactory().get("/bench/gated/")
    request.session = engine.SessionStore(session_key)
    if session_loaded:
        request.session.load()
        request.session.items()
    gate = MfaGateMiddleware(lambda _request: HttpResponse())
    with CaptureQueriesContext(connection) as queries, count_network() as network:
        # What the sign-in middleware hands the gate, parsed here so that it counts.
        request.sign_in = session_state.load(request.session)
        response = gate.process_view(request, view, (), {})
    return GateCost(
        allowed=response is None,
        queries=len(queries),
        connects=network["connects"],
        sends=network["sends"],
    )


def decision_seconds(session_key: str, view: Callable[..., Any], calls: int) -> float:
    """Median CPU seconds of one `process_view` call (session already read), over `calls`."""
    from importlib import import_module

    from django.conf import settings
    from django.http import HttpResponse
    from django.test import RequestFactory

    from aidial_portal.accounts import session_state
    from aidial_portal.web.gate import MfaGateMiddleware

    request: Any = RequestFactory().get("/bench/gated/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    request.session.load()
    request.session.items()
    request.sign_in = session_state.load(request.session)
    gate = MfaGateMiddleware(lambda _request: HttpResponse())
    batch = 100
    timings = []
    for _ in range(max(1, calls // batch)):
        started = time.process_time()
        for _ in range(batch):
            gate.process_view(request, view, (), {})
        timings.append((time.process_time() - started) / batch)
    return median(timings)


def request_cpu(client: Any, paths: Sequence[str], samples: int) -> dict[str, list[float]]:
    """CPU seconds of whole requests through Django's test Client, the paths alternating."""
    seconds: dict[str, list[float]] = {path: [] for path in paths}
    for index in range(samples):
        for path in paths if index % 2 == 0 else list(reversed(paths)):
            started = time.process_time()
            response = client.get(path)
            seconds[path].append(time.process_time() - started)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
    return seconds


# -- throughput under load --------------------------------------------------------------------


@dataclass
class Interleaved:
    gated: list[LoadResult]
    exempt: list[LoadResult]

    @property
    def gated_rps(self) -> float:
        return sum(r.requests for r in self.gated) / sum(r.seconds for r in self.gated)

    @property
    def exempt_rps(self) -> float:
        return sum(r.requests for r in self.exempt) / sum(r.seconds for r in self.exempt)

    @property
    def ratio(self) -> float:
        return ratio(self.gated_rps, self.exempt_rps)

    @property
    def pair_ratios(self) -> list[float]:
        return [ratio(a.rps, b.rps) for a, b in zip(self.gated, self.exempt, strict=True)]

    @property
    def errors(self) -> int:
        return sum(r.errors for r in [*self.gated, *self.exempt])


def interleaved(
    generator: LoadGenerator,
    gated: Sequence[Target],
    exempt: Sequence[Target],
    *,
    rounds: int,
    seconds: float,
    warmup: float,
) -> Interleaved:
    """`rounds` pairs of runs, the order alternating (gated, exempt, exempt, gated, ...) so that
    drift in the machine's speed falls on both alike."""
    result = Interleaved(gated=[], exempt=[])
    for index in range(rounds):
        order = [("gated", gated), ("exempt", exempt)]
        if index % 2:
            order.reverse()
        for name, targets in order:
            run = generator.run(targets, duration=seconds, warmup=warmup)
            (result.gated if name == "gated" else result.exempt).append(run)
    return result


# -- the benchmark ----------------------------------------------------------------------------


def main(options: Options) -> None:
    from benchmarks import infra

    infra.django_ready()  # before anything imports models
    from django.conf import settings

    from benchmarks import portal
    from benchmarks.urls import EXEMPT_PATH, GATED_PATH, exempt_dashboard, gated_dashboard

    database = portal.database_description()
    sessions = "Redis" if getattr(settings, "REDIS_URL", "") else "database"
    who = portal.account("bench-gate")
    client = portal.signed_in_client(who)
    cookie = portal.browser_cookie(client)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    costs = [
        ("gate, compliant session, session already read", gated_dashboard, True),
        ("gate, exempt view, session already read", exempt_dashboard, True),
        ("gate, compliant session, first session read", gated_dashboard, False),
    ]
    cost_rows = []
    for label, view, loaded in costs:
        cost = gate_cost(key, view, session_loaded=loaded)
        if not cost.allowed:
            raise SystemExit("the gate refused the benchmark's compliant session")
        cost_rows.append((label, cost.queries, cost.connects, cost.sends))

    decision = {
        "gated": decision_seconds(key, gated_dashboard, options.gate_inprocess_samples * 5),
        "exempt": decision_seconds(key, exempt_dashboard, options.gate_inprocess_samples * 5),
    }
    cpu = request_cpu(client, [GATED_PATH, EXEMPT_PATH], options.gate_inprocess_samples)
    cpu_gated, cpu_exempt = median(cpu[GATED_PATH]), median(cpu[EXEMPT_PATH])

    work_dir = Path(options.work_dir)
    with (
        infra.portal_servers(
            dict(os.environ), work_dir, 1, workers=options.gate_workers, threads=options.threads
        ) as (server,),
        LoadGenerator(options.load_processes) as generator,
    ):

        def targets(path: str) -> list[Target]:
            return [
                Target(server.host, server.port, path, {"Cookie": cookie})
                for _ in range(options.gate_clients)
            ]

        for path in (GATED_PATH, EXEMPT_PATH):  # fail loudly if the session is not accepted
            for _ in range(2 * options.gate_workers):
                status = infra.get_status(server.host, server.port, path, cookie)
                if status != "200":
                    raise SystemExit(f"{path} answers {status} for a compliant session, not 200")
        result = interleaved(
            generator,
            targets(GATED_PATH),
            targets(EXEMPT_PATH),
            rounds=options.gate_rounds,
            seconds=options.gate_seconds,
            warmup=options.warmup,
        )

    print(
        table(
            "1. Gate overhead: the dashboard, gated vs the same view marked compliance_exempt",
            ["", "gated", "exempt", "gated / exempt"],
            [
                ("requests per second", result.gated_rps, result.exempt_rps, result.ratio),
                (
                    "median latency (ms)",
                    median([r.median_ms for r in result.gated]),
                    median([r.median_ms for r in result.exempt]),
                    ratio(
                        median([r.median_ms for r in result.gated]),
                        median([r.median_ms for r in result.exempt]),
                    ),
                ),
                ("median of per-pair ratios", "", "", median(result.pair_ratios)),
                (
                    "errors",
                    sum(r.errors for r in result.gated),
                    sum(r.errors for r in result.exempt),
                    "",
                ),
            ],
        )
    )
    print(
        f"goal: gated / exempt >= {GOAL} -> {'met' if result.ratio >= GOAL else 'NOT met'}; "
        f"per-pair ratios from {min(result.pair_ratios):.3f} to {max(result.pair_ratios):.3f} "
        "(the spread is the machine's noise, not the gate)"
    )
    print(
        f"load: {options.gate_clients} keep-alive clients in {options.load_processes} processes, "
        f"{options.gate_rounds} x 2 runs of {options.gate_seconds:g} s (+{options.warmup:g} s "
        f"warm-up), order alternating; server: 1 x aidial-portal serve --workers "
        f"{options.gate_workers} --threads {options.threads}; sessions in {sessions}"
    )
    print()
    print(
        table(
            "   The gate's own work, in-process (MfaGateMiddleware.process_view)",
            ["", "DB queries", "connects + look-ups", "socket sends"],
            cost_rows,
        )
    )
    print()
    print(
        table(
            "   In-process CPU time (time.process_time), medians",
            ["", "gated", "exempt", "gated - exempt", "exempt / gated"],
            [
                (
                    "gate decision, process_view (us)",
                    decision["gated"] * 1e6,
                    decision["exempt"] * 1e6,
                    (decision["gated"] - decision["exempt"]) * 1e6,
                    "",
                ),
                (
                    "whole request, test Client (ms)",
                    cpu_gated * 1000,
                    cpu_exempt * 1000,
                    (cpu_gated - cpu_exempt) * 1000,
                    ratio(cpu_exempt, cpu_gated),
                ),
            ],
        )
    )
    print(
        f"{options.gate_inprocess_samples} requests per path, alternating; exempt / gated CPU "
        "is the throughput ratio a CPU-bound server would show, without the machine's noise"
    )
    print(machine(f"{database}, sessions in {sessions}"))


if __name__ == "__main__":
    main(Options.from_json(sys.argv[1]))
