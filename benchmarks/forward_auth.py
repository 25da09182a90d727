"""Forward auth: `/auth/forward/` against the bare Django page of the page-limit benchmark.

A reverse proxy asks `/auth/forward/` before every request to another service, so it must cost
about what the cheapest Django page costs (goal: at most 1.2 times the bare page's CPU) and make
no query beyond reading the session (goal: none with sessions in Redis).

- server CPU per request: one `aidial-portal serve --workers 1` process, one keep-alive client,
  `forward_samples` requests per path alternating (the bare page, the grant, a refusal), with the
  headers nginx's snippet sends; the worker's CPU from `X-Bench-Cpu-Ns`;
- queries, in-process: one request to each through the portal's whole stack (Django's test
  client), every SQL statement captured, beside the bare page's;
- where it goes, in-process: CPU medians of the bare view and of `/auth/forward/` behind the
  bare page's handler (session and CSRF middleware only), and of `/auth/forward/` behind the
  portal's whole middleware stack, alternating.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.options import Options

GOAL = 1.2
SERVICE_HOST = "service.bench.test"
FORWARD_ENV = {"AIDIAL_FORWARD_AUTH_HOSTS": SERVICE_HOST}
GRANT = "/auth/forward/"
# The same answer path for a route the session does not satisfy (a role it lacks): a refusal
# costs a Prometheus count more than a grant.
REFUSAL = "/auth/forward/?role=aidial_admin"
HEADERS = {"X-Original-URL": f"https://{SERVICE_HOST}/reports/7?tab=open"}


def queries_per_request(cookie: str, paths: list[str]) -> dict[str, list[str]]:
    """The SQL each path runs for one request through the portal's stack (after a warm-up)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_COOKIE=cookie, HTTP_X_ORIGINAL_URL=HEADERS["X-Original-URL"])
    found: dict[str, list[str]] = {}
    for path in paths:
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code not in {200, 403}:
            raise RuntimeError(f"{path} answered {response.status_code}")
        found[path] = [query["sql"] for query in captured.captured_queries]
    return found


def inprocess_cpu(cookie: str, samples: int) -> list[tuple[str, float]]:
    """Median CPU seconds of one request through each handler, alternating."""
    import time

    from django.conf import settings
    from django.test import RequestFactory

    from benchmarks.middleware import BARE_MIDDLEWARE, BARE_PATH, BareHandler
    from benchmarks.report import median

    sign_in = "aidial_portal.web.signed_in_account.SignedInAccountMiddleware"
    portal_middleware = list(getattr(settings, "PORTAL_MIDDLEWARE", settings.MIDDLEWARE))
    steps = [
        ("the bare page (session + CSRF middleware, a few bytes)", BARE_MIDDLEWARE, BARE_PATH),
        # ... plus the middleware that gives the request its sign-in (the view reads it there).
        ("/auth/forward/ behind the same middleware", [*BARE_MIDDLEWARE, sign_in], GRANT),
        ("/auth/forward/ behind the portal's middleware", portal_middleware, GRANT),
    ]
    handlers = [BareHandler(list(middleware)) for _, middleware, _ in steps]
    factory = RequestFactory()
    seconds: list[list[float]] = [[] for _ in steps]
    for index in range(samples + 5):
        order = list(range(len(steps)))
        if index % 2:
            order.reverse()
        for position in order:
            request = factory.get(
                steps[position][2],
                HTTP_COOKIE=cookie,
                HTTP_X_ORIGINAL_URL=HEADERS["X-Original-URL"],
            )
            started = time.process_time()
            response = handlers[position].get_response(request)
            spent = time.process_time() - started
            if response.status_code != 200:
                raise RuntimeError(f"{steps[position][0]}: answered {response.status_code}")
            if index >= 5:
                seconds[position].append(spent)
    return [(label, median(values)) for (label, _, _), values in zip(steps, seconds, strict=True)]


def main(options: Options) -> None:
    from benchmarks import infra

    infra.django_ready()
    from django.conf import settings

    from benchmarks import portal
    from benchmarks.middleware import BARE_PATH
    from benchmarks.page_limit import server_cpu
    from benchmarks.report import machine, median, percentile, ratio, table

    if SERVICE_HOST not in settings.AIDIAL.forward_auth_hosts:
        raise RuntimeError("run through `python -m benchmarks --only forward` (needs its hosts)")
    database = portal.database_description()
    sessions = "Redis" if getattr(settings, "REDIS_URL", "") else "database"
    who = portal.account("bench-forward")
    client = portal.signed_in_client(who)
    cookie = portal.browser_cookie(client)
    paths = [GRANT, REFUSAL, BARE_PATH]
    queries = queries_per_request(cookie, paths)
    where = inprocess_cpu(cookie, options.forward_samples)

    with infra.portal_servers(
        dict(os.environ), Path(options.work_dir), 1, workers=1, threads=4
    ) as (server,):
        cpu = server_cpu(
            server.host,
            server.port,
            [GRANT, BARE_PATH],
            cookie,
            options.forward_samples,
            headers=HEADERS,
        )
        refused = _refusal_cpu(server.host, server.port, cookie, options.forward_samples)

    grant, bare = median(cpu.cpu[GRANT]), median(cpu.cpu[BARE_PATH])
    cpu_ratio = ratio(grant, bare)
    extra_queries = len(queries[GRANT]) - len(queries[BARE_PATH])

    def row(label: str, figure: Any) -> list[Any]:
        return [label, figure(cpu.cpu[GRANT]), figure(refused), figure(cpu.cpu[BARE_PATH])]

    print(
        table(
            "8. Forward auth: /auth/forward/ vs the bare Django page (session + CSRF middleware "
            "only), one aidial-portal serve process",
            ["", "grant (200)", "refusal (403, role)", "bare page"],
            [
                row("server CPU per request, median (ms)", median),
                row("  p90 (ms)", lambda values: percentile(values, 0.9)),
                [
                    "latency, one client, median (ms)",
                    median(cpu.wall[GRANT]),
                    "",
                    median(cpu.wall[BARE_PATH]),
                ],
                ["SQL queries per request", *(len(queries[path]) for path in paths)],
            ],
        )
    )
    print(
        f"grant / bare CPU = {cpu_ratio:.2f}: goal <= {GOAL} -> "
        f"{'met' if cpu_ratio <= GOAL else 'NOT met'}; queries beyond the bare page's "
        f"session read: {extra_queries} (goal 0) -> {'met' if extra_queries == 0 else 'NOT met'}; "
        f"{options.forward_samples} sequential requests per path, alternating (grant and bare "
        f"page; the refusal in a run of its own), CPU from the X-Bench-Cpu-Ns header"
    )
    for path in paths:
        for sql in queries[path]:
            print(f"  {path}: {sql[:120]}")
    print()
    floor = where[0][1]
    print(
        table(
            "   Where it goes, in-process (CPU medians, alternating)",
            ["", "CPU per request (us)", "/ the bare page"],
            [[label, value * 1e6, ratio(value, floor)] for label, value in where],
        )
    )
    print(machine(f"{database}, sessions in {sessions}"))


def _refusal_cpu(host: str, port: int, cookie: str, samples: int) -> list[float]:
    """Server CPU (ms) of a refusal, on its own keep-alive connection."""
    import http.client

    from benchmarks.middleware import CPU_HEADER

    values: list[float] = []
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        for index in range(samples + 5):
            connection.request("GET", REFUSAL, headers={**HEADERS, "Cookie": cookie})
            response = connection.getresponse()
            response.read()
            if response.status != 403:
                raise RuntimeError(f"{REFUSAL} answered {response.status}, not 403")
            if index >= 5:
                values.append(int(response.getheader(CPU_HEADER, "0")) / 1e6)
    finally:
        connection.close()
    return values


if __name__ == "__main__":
    main(Options.from_json(sys.argv[1]))
