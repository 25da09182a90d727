"""The page limit: the gated dashboard against a bare Django page, on the same server.

The bare page (`/bench/bare/`, `benchmarks.middleware`) is served by the same
`aidial-portal serve` process through a second Django handler with only Django's session and
CSRF middleware; it reads the same session from the same store and answers a few bytes. The
dashboard (`/`) pays, on top of that, the portal's own middleware (request id, security headers,
the gate, ...), one account query and its template.

Three measurements, each alternating between the two pages:

- server CPU per request: one client, one request at a time, the worker's CPU time from the
  `X-Bench-Cpu-Ns` header;
- throughput: `page_clients` keep-alive clients, runs alternating;
- in-process, where the difference goes: the same request through handlers with the portal's
  middleware added one at a time (CPU medians), then the dashboard's view and template.
"""

from __future__ import annotations

import http.client
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.loadgen import LoadGenerator, LoadResult, Target
from benchmarks.middleware import (
    BARE_DASHBOARD_PATH,
    BARE_MIDDLEWARE,
    BARE_PATH,
    CPU_HEADER,
    BareHandler,
)
from benchmarks.options import Options
from benchmarks.report import machine, median, percentile, ratio, table

GOAL = 1.5
DASHBOARD = "/"


@dataclass
class ServerCpu:
    """Per-request worker CPU (ms) and wall latency (ms), per path."""

    cpu: dict[str, list[float]] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)


def server_cpu(
    host: str,
    port: int,
    paths: Sequence[str],
    cookie: str,
    samples: int,
    *,
    headers: Mapping[str, str] | None = None,
) -> ServerCpu:
    """`samples` sequential GETs per path, alternating, on one keep-alive connection, each
    with the cookie and `headers`."""
    result = ServerCpu({path: [] for path in paths}, {path: [] for path in paths})
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        for index in range(samples + 5):
            for path in paths if index % 2 == 0 else list(reversed(paths)):
                started = time.perf_counter()
                connection.request("GET", path, headers={**(headers or {}), "Cookie": cookie})
                response = connection.getresponse()
                response.read()
                wall = time.perf_counter() - started
                if response.status != 200:
                    raise RuntimeError(
                        f"{path} answered {response.status} "
                        f"{response.getheader('Location') or ''}, not 200"
                    )
                if index >= 5:  # warm-up
                    result.cpu[path].append(int(response.getheader(CPU_HEADER, "0")) / 1e6)
                    result.wall[path].append(wall * 1000)
    finally:
        connection.close()
    return result


def alternating_load(
    generator: LoadGenerator,
    runs: dict[str, list[Target]],
    *,
    rounds: int,
    seconds: float,
    warmup: float,
) -> dict[str, list[LoadResult]]:
    """`rounds` rounds over the paths, the order reversed every other round."""
    names = list(runs)
    results: dict[str, list[LoadResult]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            results[name].append(generator.run(runs[name], duration=seconds, warmup=warmup))
    return results


def _rps(results: list[LoadResult]) -> float:
    seconds = sum(result.seconds for result in results)
    return sum(result.requests for result in results) / seconds if seconds else 0.0


# -- in-process: where the difference goes -------------------------------------------------


def ladder(portal_middleware: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Handlers from the bare one to the portal's whole stack, one middleware added at a time
    (each list in the portal's own order; session and CSRF are in all of them)."""
    chosen = set(BARE_MIDDLEWARE)
    steps = [("session + CSRF only (the bare page)", list(BARE_MIDDLEWARE))]
    for path in portal_middleware:
        if path in chosen:
            continue
        chosen.add(path)
        steps.append(
            ("+ " + path.rsplit(".", 1)[-1], [name for name in portal_middleware if name in chosen])
        )
    return steps


def request_cpu_ladder(
    steps: Sequence[tuple[str, list[str]]], cookie: str, samples: int, path: str = BARE_PATH
) -> list[float]:
    """Median CPU seconds of one request to `path` through each step's handler, alternating."""
    from django.test import RequestFactory

    handlers = [BareHandler(names) for _, names in steps]
    factory = RequestFactory()
    seconds: list[list[float]] = [[] for _ in handlers]
    for index in range(samples + 5):
        order = list(range(len(handlers)))
        if index % 2:
            order.reverse()
        for position in order:
            request = factory.get(path, HTTP_COOKIE=cookie)
            started = time.process_time()
            response = handlers[position].get_response(request)
            spent = time.process_time() - started
            if response.status_code != 200:
                raise RuntimeError(f"{steps[position][0]}: {path} answered {response.status_code}")
            if index >= 5:
                seconds[position].append(spent)
    return [median(values) for values in seconds]


def template_cpu(who: Any, session: Any, samples: int) -> float:
    """Median CPU seconds of rendering the dashboard's template alone, for `who` signed in with
    `session`: the context the dashboard view builds, the navigation of a signed-in page."""
    from django.conf import settings
    from django.template.loader import render_to_string
    from django.test import RequestFactory
    from django.utils import timezone

    from aidial_portal.accounts import session_state
    from aidial_portal.accounts.models import Account
    from aidial_portal.web.security_status import security_status

    state = session_state.load(session)
    if state is None:
        raise RuntimeError("the benchmark's session holds no sign-in")
    account = Account.objects.get(pk=who.pk)
    status = security_status(
        state,
        account.markers(),
        settings.AIDIAL,
        dict(session_state.current_role_table()),
        timezone.now(),
    )
    request = RequestFactory().get(DASHBOARD)
    request.session = session
    context = {"account": account, "role_rows": status.roles, "status": status}
    values = []
    for _ in range(samples):
        started = time.process_time()
        render_to_string("portal/dashboard.html", context, request=request)
        values.append(time.process_time() - started)
    return median(values)


def query_cpu(who: Any, samples: int) -> float:
    """Median CPU seconds of the dashboard's one query alone (`Account.objects.get`)."""
    from aidial_portal.accounts.models import Account

    values: list[float] = []
    for index in range(samples + 5):
        started = time.process_time()
        Account.objects.get(pk=who.pk)
        if index >= 5:
            values.append(time.process_time() - started)
    return median(values)


def main(options: Options) -> None:
    from benchmarks import infra

    infra.django_ready()  # before anything imports models
    from django.conf import settings

    from benchmarks import portal

    database = portal.database_description()
    sessions = "Redis" if getattr(settings, "REDIS_URL", "") else "database"
    who = portal.account("bench-page")
    client = portal.signed_in_client(who)
    cookie = portal.browser_cookie(client)
    portal_middleware = list(getattr(settings, "PORTAL_MIDDLEWARE", settings.MIDDLEWARE))

    steps = ladder(portal_middleware)
    samples = options.page_inprocess_samples
    bare_steps = request_cpu_ladder(steps, cookie, samples)
    whole = request_cpu_ladder([("whole stack", portal_middleware)], cookie, samples, DASHBOARD)[0]
    template = template_cpu(who, client.session, samples)
    query = query_cpu(who, samples)

    with (
        infra.portal_servers(dict(os.environ), Path(options.work_dir), 1, workers=1, threads=4) as (
            server,
        ),
        LoadGenerator(options.load_processes) as generator,
    ):
        cpu = server_cpu(
            server.host,
            server.port,
            [DASHBOARD, BARE_DASHBOARD_PATH, BARE_PATH],
            cookie,
            options.page_samples,
        )
        loads = alternating_load(
            generator,
            {
                path: [
                    Target(server.host, server.port, path, {"Cookie": cookie})
                    for _ in range(options.page_clients)
                ]
                for path in (DASHBOARD, BARE_PATH)
            },
            rounds=options.page_rounds,
            seconds=options.page_seconds,
            warmup=options.warmup,
        )

    cpu_ratio = ratio(median(cpu.cpu[DASHBOARD]), median(cpu.cpu[BARE_PATH]))
    rps = {path: _rps(results) for path, results in loads.items()}
    errors = sum(result.errors for results in loads.values() for result in results)
    paths = (DASHBOARD, BARE_DASHBOARD_PATH, BARE_PATH)

    def row(label: str, values: dict[str, list[float]], figure: Any) -> list[Any]:
        dashboard, view, bare = (figure(values[path]) for path in paths)
        return [label, dashboard, view, bare, ratio(dashboard, bare), ratio(dashboard, view)]

    print(
        table(
            "5. Page limit: the gated dashboard vs a bare Django page (session + CSRF middleware "
            "only), one aidial-portal serve process",
            [
                "",
                "dashboard",
                "its view, bare Django",
                "bare page",
                "dashboard / bare page",
                "dashboard / its view",
            ],
            [
                row("server CPU per request, median (ms)", cpu.cpu, median),
                row("  p90 (ms)", cpu.cpu, lambda values: percentile(values, 0.9)),
                row("latency, one client, median (ms)", cpu.wall, median),
                [
                    f"requests per second, {options.page_clients} clients",
                    rps[DASHBOARD],
                    "",
                    rps[BARE_PATH],
                    ratio(rps[BARE_PATH], rps[DASHBOARD]),
                    "",
                ],
                ["errors", errors, "", "", "", ""],
            ],
        )
    )
    print(
        f"goal: dashboard / bare CPU <= {GOAL} -> {'met' if cpu_ratio <= GOAL else 'NOT met'}; "
        f"{options.page_samples} sequential requests per page, alternating (CPU from the "
        f"{CPU_HEADER} header: the worker's process CPU while Django handled the request); "
        f"throughput: {options.page_rounds} x 2 runs of {options.page_seconds:g} s, "
        'the ratio is bare / dashboard (how much faster the floor is); "its view, bare '
        "Django\": the dashboard's own view (account read and template) behind only the bare "
        "page's session and CSRF middleware, so dashboard / its view is what the portal's "
        "middleware adds"
    )
    print()
    rows: list[list[Any]] = []
    previous = None
    for (label, _), value in zip(steps, bare_steps, strict=True):
        rows.append([label, value * 1e6, "" if previous is None else (value - previous) * 1e6])
        previous = value
    rows.append(
        [
            "the dashboard (account query + template) instead",
            whole * 1e6,
            (whole - bare_steps[-1]) * 1e6,
        ]
    )
    rows.append(["  of which rendering portal/dashboard.html alone", template * 1e6, ""])
    rows.append(["  of which the account read alone", query * 1e6, ""])
    print(
        table(
            "   Where it goes, in-process: one request through handlers with the portal's "
            "middleware added one at a time (CPU medians)",
            ["", "CPU per request (us)", "added (us)"],
            rows,
        )
    )
    print(f"{samples} requests per handler, alternating; the bare page's view unless stated")
    print(machine(f"{database}, sessions in {sessions}"))


if __name__ == "__main__":
    main(Options.from_json(sys.argv[1]))
