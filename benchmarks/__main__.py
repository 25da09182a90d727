"""`python -m benchmarks [--quick] [--only NAME ...] [--size flags]`: run the benchmarks.

Each benchmark runs in its own child process whose environment points Django at its own
throwaway database, so that the servers it starts share that database (and Redis) with it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import infra, services
from benchmarks.options import BENCHMARKS, Options, add_size_arguments, from_arguments
from benchmarks.report import machine
from benchmarks.scale_accounts import LARGE_DATABASE_ENV

MODULES = {
    "gate": "benchmarks.gate_overhead",
    "signin": "benchmarks.sign_in_cost",
    "scale": "benchmarks.scale_accounts",
    "instances": "benchmarks.instances",
    "page": "benchmarks.page_limit",
    "faults": "benchmarks.faults",
    "reports": "benchmarks.reports_scale",
    "forward": "benchmarks.forward_auth",
}
GATE_REDIS_DB = 12
INSTANCES_REDIS_DB = 14
SCALE_NAMES = ("small", "large")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="The portal's performance figures (docs/performance.md). Not pass/fail.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument(
        "--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS), help="which to run"
    )
    add_size_arguments(parser)
    return parser


def _child(name: str, options: Options, env: dict[str, str]) -> bool:
    code = infra.run_child(MODULES[name], [options.to_json()], env)
    if code:
        print(f"[{name}] failed with exit status {code}")
    return code == 0


def _with_gate_redis(
    name: str, options: Options, work: Path, extra: dict[str, str] | None = None
) -> bool:
    """Run benchmark `name` on its own SQLite file and, when Redis is up, an emptied db."""
    redis = "" if infra.redis_problem() else infra.redis_url(GATE_REDIS_DB)
    if redis:
        infra.flush_redis_db(GATE_REDIS_DB)
    env = infra.portal_env(f"sqlite:///{work / f'{name}.sqlite3'}", redis, extra)
    try:
        return _child(name, options, env)
    finally:
        if redis:
            infra.flush_redis_db(GATE_REDIS_DB)


def _gate(options: Options, work: Path) -> bool:
    return _with_gate_redis("gate", options, work)


def _signin(options: Options, work: Path) -> bool:
    return _child("signin", options, infra.portal_env(f"sqlite:///{work / 'signin.sqlite3'}"))


def _scale(options: Options, work: Path) -> bool:
    configured = os.environ.get("AIDIAL_DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        small, large = (f"sqlite:///{work / f'scale-{name}.sqlite3'}" for name in SCALE_NAMES)
        env = infra.portal_env(small, extra={LARGE_DATABASE_ENV: large})
        return _child("scale", options, env)
    names = [f"bench_scale_{name}" for name in SCALE_NAMES]
    small, large = (urlsplit(configured)._replace(path="/" + name).geturl() for name in names)
    for name in names:
        infra.recreate_postgres_database(name, configured)
    try:
        return _child("scale", options, infra.portal_env(small, extra={LARGE_DATABASE_ENV: large}))
    finally:
        for name in names:
            infra.drop_postgres_database(name, configured)


def _instances(options: Options, work: Path) -> bool:
    problems = [problem for problem in (infra.postgres_problem(), infra.redis_problem()) if problem]
    if problems:
        print("4. Instances: SKIPPED. " + "; ".join(problems) + ".")
        return True
    database = infra.postgres_url(infra.INSTANCES_DATABASE)
    infra.recreate_postgres_database(infra.INSTANCES_DATABASE, database)
    infra.flush_redis_db(INSTANCES_REDIS_DB)
    try:
        env = infra.portal_env(database, infra.redis_url(INSTANCES_REDIS_DB))
        return _child("instances", options, env)
    finally:
        infra.drop_postgres_database(infra.INSTANCES_DATABASE, database)
        infra.flush_redis_db(INSTANCES_REDIS_DB)


def _page(options: Options, work: Path) -> bool:
    return _with_gate_redis("page", options, work)


def _forward(options: Options, work: Path) -> bool:
    from benchmarks.forward_auth import FORWARD_ENV

    return _with_gate_redis("forward", options, work, extra=FORWARD_ENV)


def _reports(options: Options, work: Path) -> bool:
    problem = infra.postgres_problem()
    if problem:
        print(f"6. Reports at scale: SKIPPED (needs PostgreSQL). {problem}.")
        return True
    tag = secrets.token_hex(4)
    names = [f"bench_reports_{name}_{tag}" for name in SCALE_NAMES]
    small, large = (infra.postgres_url(name) for name in names)
    try:
        for name in names:
            infra.recreate_postgres_database(name, small)
        return _child(
            "reports", options, infra.portal_env(small, extra={LARGE_DATABASE_ENV: large})
        )
    finally:
        for name in names:
            infra.drop_postgres_database(name, small)


def _faults(options: Options, work: Path) -> bool:
    problem = services.problem()
    if problem:
        print(f"7. Faults under load: SKIPPED. {problem}.")
        return True
    try:
        return _child("faults", options, infra.portal_env("", ""))
    finally:
        killed = services.stop_leftovers(work)
        if killed:
            print(f"[faults] killed left-over services: {killed}")


RUNNERS = {
    "gate": _gate,
    "signin": _signin,
    "scale": _scale,
    "instances": _instances,
    "page": _page,
    "reports": _reports,
    "faults": _faults,
    "forward": _forward,
}


def main(argv: list[str] | None = None) -> int:
    namespace = _parser().parse_args(argv)
    options = from_arguments(namespace)
    print("AiDial Portal benchmarks: figures, not pass/fail (docs/performance.md)")
    print(machine())
    print()
    started = time.monotonic()
    ok = True
    with tempfile.TemporaryDirectory(prefix="aidial-bench-") as temporary:
        for name in BENCHMARKS:
            if name not in namespace.only:
                continue
            work = Path(temporary) / name
            work.mkdir()
            began = time.monotonic()
            ok = RUNNERS[name](replace(options, work_dir=str(work)), work) and ok
            print(f"[{name}: {time.monotonic() - began:.0f} s]")
            print()
            sys.stdout.flush()
    print(f"all benchmarks: {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
