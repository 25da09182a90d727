"""Each benchmark's measurement functions run at a tiny size and return sane numbers.

Not timing assertions: `make bench` produces the figures (docs/performance.md).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections

from benchmarks import gate_overhead, infra, instances, page_limit, scale_accounts, sign_in_cost
from benchmarks.loadgen import LoadGenerator, Target
from benchmarks.options import QUICK, Options
from benchmarks.portal import account, browser_cookie, signed_in_client
from benchmarks.report import percentile, table
from benchmarks.urls import exempt_dashboard, gated_dashboard
from tests.support.idp import LocalIdp
from tests.support.tcp_proxy import TcpProxy


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like gunicorn's gthread workers

    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200 if self.path != "/missing" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_servers() -> Iterator[list[ThreadingHTTPServer]]:
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Ok) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def _run(module: str, options: Options, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m <module>` with these options, as `make bench` runs it; its output as text."""
    return subprocess.run(
        [sys.executable, "-m", module, options.to_json()],
        cwd=infra.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def _targets(server: ThreadingHTTPServer, count: int, path: str = "/") -> list[Target]:
    return [Target("127.0.0.1", server.server_address[1], path) for _ in range(count)]


@pytest.mark.urls("benchmarks.urls")
def test_gate_alone_makes_no_query_and_no_network_call(db: None) -> None:
    client = signed_in_client(account("smoke-gate"))
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    for view in (gated_dashboard, exempt_dashboard):
        cost = gate_overhead.gate_cost(key, view, session_loaded=True)
        assert cost == gate_overhead.GateCost(allowed=True, queries=0, connects=0, sends=0)
    first_read = gate_overhead.gate_cost(key, gated_dashboard, session_loaded=False)
    assert first_read.allowed
    assert first_read.queries + first_read.sends >= 1  # the session itself, from its store
    assert gate_overhead.decision_seconds(key, gated_dashboard, 100) > 0
    cpu = gate_overhead.request_cpu(client, ["/bench/gated/", "/bench/exempt/"], 2)
    assert [len(values) for values in cpu.values()] == [2, 2]


@pytest.mark.urls("benchmarks.urls")
def test_page_limit_ladder_adds_the_portal_middleware_one_at_a_time(db: None) -> None:
    who = account("smoke-page")
    client = signed_in_client(who)
    cookie = browser_cookie(client)
    steps = page_limit.ladder(list(settings.MIDDLEWARE))
    assert steps[0][1] == page_limit.BARE_MIDDLEWARE
    assert steps[-1][1] == list(settings.MIDDLEWARE)
    assert [len(names) for _, names in steps] == list(range(2, len(settings.MIDDLEWARE) + 1))
    cpu = page_limit.request_cpu_ladder(steps, cookie, 2)
    assert len(cpu) == len(steps)
    assert min(cpu) > 0
    whole = page_limit.request_cpu_ladder([("all", list(settings.MIDDLEWARE))], cookie, 2, "/")
    assert whole[0] > 0
    assert page_limit.template_cpu(who, client.session, 2) > 0
    assert page_limit.query_cpu(who, 2) > 0


def test_interleaved_load_counts_requests_and_errors(http_servers: list[Any]) -> None:
    server = http_servers[0]
    with LoadGenerator(1) as generator:
        result = gate_overhead.interleaved(
            generator, _targets(server, 2), _targets(server, 2), rounds=2, seconds=0.2, warmup=0.05
        )
        missing = generator.run(_targets(server, 1, "/missing"), duration=0.1, warmup=0.0)
    assert len(result.gated) == len(result.exempt) == 2
    assert result.errors == 0
    assert result.gated_rps > 0
    assert result.exempt_rps > 0
    assert result.ratio > 0
    assert missing.requests == 0
    assert missing.errors > 0
    assert "HTTP 404" in missing.error_samples[0]


def test_load_generator_refuses_other_hosts_and_unbounded_runs() -> None:
    with LoadGenerator(1) as generator:
        with pytest.raises(ValueError, match="loopback"):
            generator.run([Target("192.0.2.1", 80, "/")], duration=0.1)
        with pytest.raises(ValueError, match="seconds"):
            generator.run([Target("127.0.0.1", 80, "/")], duration=10_000)


def test_instances_compare_one_and_two_servers(http_servers: list[Any]) -> None:
    first, second = http_servers
    one = _targets(first, 4)
    two = [
        target
        for pair in zip(_targets(first, 2), _targets(second, 2), strict=True)
        for target in pair
    ]
    with LoadGenerator(2) as generator:  # the spawned-process path
        on_one, on_two = instances.compare(generator, one, two, rounds=1, seconds=0.3, warmup=0.05)
    assert on_one.errors == on_two.errors == 0
    assert on_one.rps > 0
    assert on_two.rps > 0
    assert on_one.median_ms > 0


@pytest.mark.idp
def test_sign_in_cost_measures_both_variants(local_idp: LocalIdp, db: None) -> None:
    registration = local_idp.add_client("http://testserver/oidc/callback/")
    registration["service_token"] = local_idp.service_token()
    login = "bench.smoke@bench.test"
    local_idp.add_user(login, sign_in_cost.PASSWORD, [sign_in_cost.ROLE])
    port = int(local_idp.issuer.rsplit(":", 1)[1])
    with TcpProxy(("127.0.0.1", port), delay=0.01) as proxy:
        concurrent, sequential = sign_in_cost.measure(
            local_idp, registration, login, sign_in_cost.PASSWORD, 1, api_url=proxy.url
        )
    for variant in (concurrent, sequential):
        assert len(variant.latency) == len(variant.cpu) == len(variant.reader.seconds) == 1
        assert variant.unavailable == 0
        assert variant.latency[0] > variant.reader.seconds[0] >= 0.01  # one delayed call at least
        assert variant.cpu[0] > 0


def test_scale_populates_and_samples_two_databases_side_by_side(db: None, tmp_path: Path) -> None:
    from django.core.management import call_command

    from aidial_portal.accounts.models import Account
    from aidial_portal.audit.models import SecurityEvent

    large = scale_accounts.database(f"sqlite:///{tmp_path / 'large.sqlite3'}")
    try:
        with scale_accounts.using(large):
            call_command("migrate", verbosity=0, interactive=False)
        small, big, spent = scale_accounts.side_by_side(
            connections["default"], large, (12, 40), 2, 3
        )
        with scale_accounts.using(large):
            assert Account.objects.count() == 40
            # 2 events per account, then one write per sample (warm-up included)
            assert SecurityEvent.objects.count() == 80 + 3 + 5
            assert (
                Account.objects.get(subject=scale_accounts.subject(38)).markers().ever_enrolled
            )  # 38 % 3 != 0
    finally:
        large.close()
    assert Account.objects.count() == 12
    assert (small.accounts, big.accounts) == (12, 40)
    for timings in (small, big):
        assert len(timings.settings_page) == len(timings.event_write) == 3
        assert min(timings.settings_page) > 0
        assert min(timings.event_write) > 0
    assert set(spent) == {"small", "large"}


def test_options_reports_and_guards() -> None:
    assert QUICK.scale_large < Options().scale_large
    assert Options.from_json(QUICK.to_json()) == QUICK
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.0
    assert "ratio" in table("t", ["", "ratio"], [("a", 1.0)])
    with pytest.raises(ValueError, match="not a benchmark database"):
        infra.drop_postgres_database("test", infra.postgres_url("postgres"))
    with pytest.raises(ValueError, match="12 and 14"):
        infra.flush_redis_db(15)


def test_faults_run_end_to_end_at_a_tiny_size() -> None:
    import shutil
    import tempfile

    from benchmarks import services

    if services.problem():
        pytest.skip(services.problem())
    # Not pytest's tmp_path: pytest keeps its base directory 0700, and the postgres user must
    # reach the cluster's directory (`python -m benchmarks` uses its own temporary directory).
    tmp_path = Path(tempfile.mkdtemp(prefix="aidial-bench-smoke-"))
    options = replace(
        QUICK,
        fault_clients=4,
        fault_outage=0.5,
        fault_steady=0.5,
        workers=1,
        threads=2,
        work_dir=str(tmp_path),
    )
    try:
        completed = _run("benchmarks.faults", options, infra.portal_env("", ""))
    finally:
        leftovers = services.stop_leftovers(tmp_path)
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "after PostgreSQL returns" in completed.stdout
    assert "lost: 0 events, 0 markers behind" in completed.stdout
    assert leftovers == []  # the benchmark stopped its own services


def test_reports_at_scale_run_end_to_end_at_a_tiny_size(tmp_path: Path) -> None:
    import secrets

    from benchmarks.scale_accounts import LARGE_DATABASE_ENV

    if infra.postgres_problem():
        pytest.skip(infra.postgres_problem())
    tag = secrets.token_hex(4)
    names = [f"bench_reports_smoke_{size}_{tag}" for size in ("small", "large")]
    small, large = (infra.postgres_url(name) for name in names)
    options = replace(
        QUICK,
        reports_small=30,
        reports_small_events=100,
        reports_large=120,
        reports_large_events=600,
        reports_samples=1,
        work_dir=str(tmp_path),
    )
    try:
        for name in names:
            infra.recreate_postgres_database(name, small)
        completed = _run(
            "benchmarks.reports_scale",
            options,
            infra.portal_env(small, extra={LARGE_DATABASE_ENV: large}),
        )
    finally:
        for name in names:
            infra.drop_postgres_database(name, small)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "events: deep keyset page (middle)" in completed.stdout
    assert "report: the large organisation, deep page" in completed.stdout
    assert "CSV export" in completed.stdout
    assert "Limit" in completed.stdout  # the plans


@pytest.mark.idp
def test_sign_in_cost_runs_in_process_under_serve_and_profiled(tmp_path: Path) -> None:
    options = replace(
        QUICK,
        signins=1,
        signin_delay_ms=0.0,
        signin_server=1,
        signin_profile=1,
        work_dir=str(tmp_path),
    )
    completed = _run(
        "benchmarks.sign_in_cost",
        options,
        infra.portal_env(f"sqlite:///{tmp_path / 'signin.sqlite3'}"),
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "whole sign-in (POST + callback)" in completed.stdout
    assert "one gated dashboard request" in completed.stdout
    assert "ms per sign-in" in completed.stdout  # the profile


def test_page_limit_runs_against_a_real_server_at_a_tiny_size(tmp_path: Path) -> None:
    options = replace(
        QUICK,
        page_samples=2,
        page_inprocess_samples=2,
        page_rounds=1,
        page_seconds=0.2,
        page_clients=2,
        warmup=0.05,
        work_dir=str(tmp_path),
    )
    completed = _run(
        "benchmarks.page_limit", options, infra.portal_env(f"sqlite:///{tmp_path / 'page.sqlite3'}")
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "server CPU per request, median (ms)" in completed.stdout
    assert "+ MfaGateMiddleware" in completed.stdout
    assert "its view, bare Django" in completed.stdout


def test_forward_auth_runs_against_a_real_server_at_a_tiny_size(tmp_path: Path) -> None:
    from benchmarks import forward_auth

    options = replace(QUICK, forward_samples=2, work_dir=str(tmp_path))
    env = infra.portal_env(
        f"sqlite:///{tmp_path / 'forward.sqlite3'}", extra=forward_auth.FORWARD_ENV
    )
    completed = _run("benchmarks.forward_auth", options, env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "grant / bare CPU" in completed.stdout
    # Sessions in the database here: the session read is the bare page's one query too, and
    # forward auth makes none beyond it.
    assert "queries beyond the bare page's session read: 0 (goal 0) -> met" in completed.stdout
    assert "/auth/forward/ behind the portal's middleware" in completed.stdout
