"""4. Instances: two `aidial-portal serve` instances against one, on one shared PostgreSQL and
one shared Redis, under 50 concurrent clients (each with its own signed-in session).

Sessions are made in this process and stored in the shared Redis; every client's session is
first checked on both instances (a session made anywhere is valid everywhere), then the
clients load the dashboard: all on instance A, or split evenly between A and B.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchmarks.loadgen import LoadGenerator, LoadResult, Target
from benchmarks.options import Options
from benchmarks.report import machine, ratio, table

PATH = "/"  # the dashboard: gated, one account query, one template
REDIS_DB = 14
DATABASE = "aidial_bench"


def total(results: list[LoadResult]) -> LoadResult:
    merged = LoadResult()
    for result in results:
        merged.merge(result)
    merged.seconds = sum(result.seconds for result in results)
    return merged


def compare(
    generator: LoadGenerator,
    one: list[Target],
    two: list[Target],
    *,
    rounds: int,
    seconds: float,
    warmup: float,
) -> tuple[LoadResult, LoadResult]:
    """Alternating runs (one, two, two, one, ...); returns the totals of each."""
    ones: list[LoadResult] = []
    twos: list[LoadResult] = []
    for index in range(rounds):
        order = [(ones, one), (twos, two)]
        if index % 2:
            order.reverse()
        for bucket, targets in order:
            bucket.append(generator.run(targets, duration=seconds, warmup=warmup))
    return total(ones), total(twos)


def main(options: Options) -> None:
    from benchmarks import infra

    infra.django_ready()  # before anything imports models
    from django.conf import settings

    from benchmarks import portal

    cookies = []
    for index in range(options.instance_clients):
        client = portal.signed_in_client(portal.account(f"bench-instances-{index:03d}"))
        cookies.append(portal.browser_cookie(client))

    with (
        infra.portal_servers(
            dict(os.environ),
            Path(options.work_dir),
            2,
            workers=options.workers,
            threads=options.threads,
        ) as (first, second),
        LoadGenerator(options.load_processes) as generator,
    ):
        # Every session, on both instances: 200, not a redirect to sign in.
        for cookie in cookies:
            for server in (first, second):
                status = infra.get_status(server.host, server.port, PATH, cookie)
                if status != "200":
                    raise SystemExit(f"a session answers {status} on port {server.port}, not 200")
        one = [Target(first.host, first.port, PATH, {"Cookie": cookie}) for cookie in cookies]
        two = [
            Target(server.host, server.port, PATH, {"Cookie": cookie})
            for cookie, server in zip(cookies, [first, second] * len(cookies), strict=False)
        ]
        on_one, on_two = compare(
            generator,
            one,
            two,
            rounds=options.instance_rounds,
            seconds=options.instance_seconds,
            warmup=options.warmup,
        )

    errors = on_one.errors + on_two.errors
    samples = "; ".join(on_one.error_samples + on_two.error_samples)
    print(
        table(
            f"4. Instances: {options.instance_clients} concurrent clients, "
            "one instance vs two on shared PostgreSQL and Redis",
            ["", "1 instance", "2 instances", "2 / 1"],
            [
                ("requests per second", on_one.rps, on_two.rps, ratio(on_two.rps, on_one.rps)),
                (
                    "median latency (ms)",
                    on_one.median_ms,
                    on_two.median_ms,
                    ratio(on_two.median_ms, on_one.median_ms),
                ),
                (
                    "p90 latency (ms)",
                    on_one.p90_ms,
                    on_two.p90_ms,
                    ratio(on_two.p90_ms, on_one.p90_ms),
                ),
                ("requests", on_one.requests, on_two.requests, ""),
                ("errors", on_one.errors, on_two.errors, ""),
            ],
        )
    )
    print(
        f"errors: {errors} ({samples or 'none'}); "
        f"each instance: aidial-portal serve --workers {options.workers} --threads "
        f"{options.threads}; {options.instance_rounds} x 2 runs of {options.instance_seconds:g} s, "
        f"alternating; {options.load_processes} load-generator processes on the same machine; "
        f"Redis {settings.REDIS_URL}"
    )
    print(machine(portal.database_description() + " (shared), sessions in Redis (shared)"))


if __name__ == "__main__":
    main(Options.from_json(sys.argv[1]))
