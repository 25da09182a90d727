"""2. Sign-in cost: the OIDC callback against the local provider, the two provider lookups
(the Session API and the user's authentication methods) concurrent vs sequential.

The portal runs in this process through Django's test Client; the provider runs in its own
process (`python -m local_idp serve`), reached over real loopback HTTP for the token exchange,
JWKS and both lookups. The hosted sign-in before each callback is not timed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from benchmarks.options import Options
from benchmarks.report import machine, median, percentile, ratio, table
from tests.support.audiences import other_applications

SERVER_GOAL = 8.0  # whole sign-in / one dashboard request, server CPU
INPROCESS_GOAL_MS = 15.0
PASSWORD = "Bench-horse-battery-9"  # noqa: S105 - a throwaway provider user
ROLE = "client_staff"


@dataclass
class TimedReader:
    """Delegates to a `ZitadelEvidenceReader`, timing each read."""

    reader: Any
    seconds: list[float] = field(default_factory=list)

    def read(
        self,
        *,
        sid: str | None,
        sub: str,
        amr: Sequence[str],
        auth_time: datetime | None = None,
    ) -> Any:
        started = time.perf_counter()
        try:
            return self.reader.read(sid=sid, sub=sub, amr=amr, auth_time=auth_time)
        finally:
            self.seconds.append(time.perf_counter() - started)


@dataclass
class Variant:
    name: str
    reader: TimedReader
    latency: list[float] = field(default_factory=list)  # callback wall time, s
    cpu: list[float] = field(default_factory=list)  # portal process CPU time, s
    start_cpu: list[float] = field(default_factory=list)  # CPU of the POST that starts it, s
    unavailable: int = 0  # sign-ins whose evidence came back unavailable


@contextmanager
def wired_to(idp: Any, registration: dict[str, Any], api_url: str = "") -> Iterator[None]:
    """Point the portal's settings at the provider, as tests/flows/conftest.py does; the
    Session and User APIs at `api_url` when given (the delaying proxy)."""
    from django.conf import settings
    from django.test import override_settings

    from aidial_portal.config import SECURITY_PAGE_PATH

    config = replace(
        settings.AIDIAL,
        base_url="http://testserver",
        issuer=idp.issuer,
        api_url=api_url or idp.issuer,
        client_id=registration["client_id"],
        client_secret=registration["client_secret"],
        project_id=registration["project_id"],
        extra_audiences=other_applications(idp.data_dir, registration["client_id"]),
        service_token=registration["service_token"],
        security_url=idp.issuer + SECURITY_PAGE_PATH,
        management_url=idp.issuer + SECURITY_PAGE_PATH,
    )
    with override_settings(AIDIAL=config):
        yield


_CLIENT: list[Any] = []


def _browser() -> Any:
    """A test Client with no cookies: a fresh browser. One Client, reused: a new one builds the
    middleware again on its first request (WhiteNoise stats every static file), a cost a
    server pays once at start-up, not per sign-in."""
    from http.cookies import SimpleCookie

    from django.test import Client

    if not _CLIENT:
        _CLIENT.append(Client())
    client = _CLIENT[0]
    client.cookies = SimpleCookie()
    return client


def one_sign_in(
    idp: Any, login: str, password: str, variant: Variant, profiler: Any = None
) -> None:
    """A whole sign-in; the portal's POST and callback are timed (and profiled, with
    `profiler`), the hosted sign-in at the provider is not."""
    from aidial_portal.identity import providers
    from tests.support.idp import HostedLogin

    client = _browser()
    if profiler is not None:
        profiler.enable()
    cpu_started = time.process_time()
    start = client.post("/login/", {"next": "/"})
    start_cpu = time.process_time() - cpu_started
    if profiler is not None:
        profiler.disable()
    if start.status_code != 302:
        raise RuntimeError(f"/login/ answered {start.status_code}")
    with HostedLogin(idp) as browser:
        final = browser.authorize(start["Location"], login, password)
    parts = urlsplit(final)
    if parts.netloc != "testserver" or parts.path != "/oidc/callback/":
        raise RuntimeError(f"the provider sent the browser to {final}")
    reads_before = len(variant.reader.seconds)
    with mock.patch.object(providers, "evidence_reader", return_value=variant.reader):
        if profiler is not None:
            profiler.enable()
        cpu_started, started = time.process_time(), time.perf_counter()
        response = client.get(f"{parts.path}?{parts.query}")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if profiler is not None:
            profiler.disable()
    if response.status_code != 302 or len(variant.reader.seconds) != reads_before + 1:
        raise RuntimeError(f"the callback answered {response.status_code}, not a redirect")
    variant.latency.append(elapsed)
    variant.cpu.append(cpu)
    variant.start_cpu.append(start_cpu)
    session_state = client.session.get("aidial_mfa") or {}
    if (session_state.get("evidence") or {}).get("unavailable"):
        variant.unavailable += 1


def measure(
    idp: Any,
    registration: dict[str, Any],
    login: str,
    password: str,
    count: int,
    *,
    api_url: str = "",
) -> tuple[Variant, Variant]:
    """`count` timed sign-ins per variant, alternating (plus one untimed warm-up each)."""
    from django.conf import settings

    from aidial_portal.identity.zitadel import ZitadelEvidenceReader

    with wired_to(idp, registration, api_url):
        config = settings.AIDIAL
        variants = tuple(
            Variant(
                name,
                TimedReader(
                    ZitadelEvidenceReader(
                        config.api_url,
                        config.service_token,
                        mode=config.evidence_mode,
                        concurrent=concurrent,
                    )
                ),
            )
            for name, concurrent in (("concurrent", True), ("sequential", False))
        )
        try:
            for variant in variants:  # discovery, JWKS, connection pools
                one_sign_in(idp, login, password, variant)
            for variant in variants:
                variant.latency.clear()
                variant.cpu.clear()
                variant.start_cpu.clear()
                variant.reader.seconds.clear()
                variant.unavailable = 0
            for index in range(count):
                order = variants if index % 2 == 0 else variants[::-1]
                for variant in order:
                    one_sign_in(idp, login, password, variant)
        finally:
            for variant in variants:
                variant.reader.reader.close()
    return variants[0], variants[1]


# -- where the CPU goes: a profile of in-process sign-ins ------------------------------------

# First match wins: (label, fragment of the file path).
PROFILE_GROUPS = (
    ("portal: identity (OIDC, provider calls)", "aidial_portal/identity/"),
    ("portal: accounts, audit, sessions, views", "aidial_portal/"),
    ("httpx / httpcore (HTTP client)", "/httpx/"),
    ("httpx / httpcore (HTTP client)", "/httpcore/"),
    ("authlib / joserfc (ID token, JWKS)", "/authlib/"),
    ("authlib / joserfc (ID token, JWKS)", "/joserfc/"),
    ("cryptography (signatures, keys)", "/cryptography/"),
    ("ssl, sockets, selectors", "/ssl.py"),
    ("ssl, sockets, selectors", "/socket.py"),
    ("ssl, sockets, selectors", "/selectors.py"),
    ("threads and thread pools", "/concurrent/"),
    ("threads and thread pools", "/threading.py"),
    ("Django: database", "/django/db/"),
    ("Django: templates", "/django/template/"),
    ("Django: sessions, auth, middleware, test Client", "/django/"),
    ("redis client", "/redis/"),
    ("SQLite / psycopg", "sqlite3"),
    ("SQLite / psycopg", "/psycopg/"),
    ("json, logging, other standard library", "/lib/python3"),
)


def _group(filename: str, function: str) -> str:
    if filename == "~":  # built-ins: name them by what they are
        if "sqlite3" in function or "psycopg" in function:
            return "SQLite / psycopg"
        if "socket" in function or "ssl" in function or "select" in function:
            return "ssl, sockets, selectors"
        if "lock" in function or "thread" in function:
            return "threads and thread pools"
        return "built-ins (other)"
    for label, fragment in PROFILE_GROUPS:
        if fragment in filename:
            return label
    return "other"


def profile_groups(stats: Any, sign_ins: int) -> list[tuple[str, float]]:
    """Own time (ms per sign-in) by package, largest first."""
    totals: dict[str, float] = {}
    for (filename, _, function), (_, _, own, _, _) in stats.stats.items():
        label = _group(filename, function)
        totals[label] = totals.get(label, 0.0) + own
    return sorted(
        ((label, seconds * 1000 / sign_ins) for label, seconds in totals.items()),
        key=lambda item: -item[1],
    )


def top_functions(stats: Any, sign_ins: int, count: int = 12) -> list[tuple[str, float, float]]:
    """The functions of the portal with the most cumulative time: (name, ms, calls/sign-in)."""
    rows = []
    for (filename, line, function), (_, calls, _, cumulative, _) in stats.stats.items():
        if "aidial_portal/" not in filename:
            continue
        name = f"{filename.split('aidial_portal/', 1)[1]}:{line} {function}"
        rows.append((name, cumulative * 1000 / sign_ins, calls / sign_ins))
    return sorted(rows, key=lambda row: -row[1])[:count]


def top_own(stats: Any, sign_ins: int, count: int = 10) -> list[tuple[str, float, float]]:
    """The functions of any package with the most own time: (name, ms, calls/sign-in)."""
    rows = []
    for (filename, line, function), (_, calls, own, _, _) in stats.stats.items():
        where = "/".join(filename.rsplit("/", 2)[-2:]) if filename != "~" else "built-in"
        rows.append((f"{where}:{line} {function}"[-70:], own * 1000 / sign_ins, calls / sign_ins))
    return sorted(rows, key=lambda row: -row[1])[:count]


def profiled(
    idp: Any, registration: dict[str, Any], login: str, password: str, count: int
) -> tuple[Any, Variant]:
    """`count` sign-ins with the portal's own evidence reader, under cProfile."""
    import cProfile
    import pstats

    from aidial_portal.identity import providers

    with wired_to(idp, registration):
        variant = Variant("profiled", TimedReader(providers.evidence_reader()))
        one_sign_in(idp, login, password, variant)  # warm-up, not profiled
        profiler = cProfile.Profile(time.process_time)  # CPU time: waits do not count
        for _ in range(count):
            one_sign_in(idp, login, password, variant, profiler)
    return pstats.Stats(profiler), variant


# -- under `aidial-portal serve` ----------------------------------------------------------


@dataclass
class ServerSignIns:
    start: list[float] = field(default_factory=list)  # worker CPU of the POST, ms
    callback: list[float] = field(default_factory=list)  # worker CPU of the callback, ms
    dashboard: list[float] = field(default_factory=list)  # worker CPU of one GET /, ms

    @property
    def sign_in(self) -> list[float]:
        return [a + b for a, b in zip(self.start, self.callback, strict=True)]


def _cpu_ms(response: Any) -> float:
    from benchmarks.middleware import CPU_HEADER

    return int(response.headers.get(CPU_HEADER, "0")) / 1e6


def server_sign_ins(
    idp: Any,
    base_url: str,
    login: str,
    password: str,
    count: int,
    *,
    dashboards: int = 3,
) -> ServerSignIns:
    """`count` whole sign-ins against a one-worker server, each followed by `dashboards`
    GETs of the dashboard with the new session; one request at a time, so each response's
    CPU header is that request's alone."""
    import re

    import httpx

    from tests.support.idp import HostedLogin

    result = ServerSignIns()
    for index in range(count + 1):  # the first is a warm-up
        with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as browser:
            page = browser.get("/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            if page.status_code != 200 or token is None:
                raise RuntimeError(f"/login/ answered {page.status_code} without a form")
            start = browser.post("/login/", data={"next": "/", "csrfmiddlewaretoken": token[1]})
            if start.status_code != 302:
                raise RuntimeError(f"POST /login/ answered {start.status_code}")
            with HostedLogin(idp) as hosted:
                final = hosted.authorize(start.headers["Location"], login, password)
            if not final.startswith(base_url + "/oidc/callback/"):
                raise RuntimeError(f"the provider sent the browser to {final}")
            callback = browser.get(final)
            if callback.status_code != 302 or "/login" in callback.headers.get("Location", ""):
                raise RuntimeError(f"the callback answered {callback.status_code}")
            views = [browser.get("/") for _ in range(dashboards)]
            if any(view.status_code != 200 for view in views):
                raise RuntimeError("the dashboard refused the new session")
            if index == 0:
                continue
            result.start.append(_cpu_ms(start))
            result.callback.append(_cpu_ms(callback))
            result.dashboard += [_cpu_ms(view) for view in views]
    return result


def run_server(idp: Any, work_dir: Path, login: str, count: int) -> ServerSignIns:
    """A one-worker `aidial-portal serve` wired to `idp`, and `count` sign-ins through it."""
    import os

    from benchmarks import infra

    port = infra.free_port()
    base_url = f"http://127.0.0.1:{port}"
    registration = idp.add_client(
        base_url + "/oidc/callback/", post_logout_uri=base_url + "/signed-out/"
    )
    env = dict(os.environ)
    env.update(
        {
            "AIDIAL_BASE_URL": base_url,
            "AIDIAL_OIDC_ISSUER": idp.issuer,
            "AIDIAL_OIDC_CLIENT_ID": registration["client_id"],
            "AIDIAL_OIDC_CLIENT_SECRET": registration["client_secret"],
            "AIDIAL_ZITADEL_PROJECT_ID": registration["project_id"],
            "AIDIAL_OIDC_EXTRA_AUDIENCES": ",".join(
                sorted(other_applications(idp.data_dir, registration["client_id"]))
            ),
            "AIDIAL_ZITADEL_SERVICE_TOKEN": idp.service_token(),
        }
    )
    with infra.portal_servers_at(env, work_dir, port, workers=1, threads=4):
        return server_sign_ins(idp, base_url, login, PASSWORD, count)


def _rows(label: str, concurrent: Variant, sequential: Variant) -> list[list[Any]]:
    def row(what: str, a: list[float], b: list[float]) -> list[Any]:
        a = [value * 1000 for value in a]
        b = [value * 1000 for value in b]
        return [
            what,
            median(a),
            percentile(a, 0.9),
            median(b),
            percentile(b, 0.9),
            ratio(median(a), median(b)),
        ]

    return [
        row(f"{label}: callback latency (ms)", concurrent.latency, sequential.latency),
        row(
            "  of which the two lookups (ms)", concurrent.reader.seconds, sequential.reader.seconds
        ),
        row("  portal CPU, callback (ms)", concurrent.cpu, sequential.cpu),
        row(
            "  portal CPU, POST + callback (ms)",
            [a + b for a, b in zip(concurrent.cpu, concurrent.start_cpu, strict=True)],
            [a + b for a, b in zip(sequential.cpu, sequential.start_cpu, strict=True)],
        ),
    ]


def main(options: Options) -> None:
    from benchmarks import infra

    infra.django_ready()  # before anything imports models
    from benchmarks.portal import database_description
    from tests.support.idp import start_local_idp
    from tests.support.tcp_proxy import TcpProxy

    idp = start_local_idp(Path(options.work_dir) / "idp", return_url="http://testserver/settings/")
    rows: list[list[Any]] = []
    unavailable = 0
    served = ServerSignIns()
    groups: list[tuple[str, float]] = []
    functions: list[tuple[str, float, float]] = []
    own: list[tuple[str, float, float]] = []
    profiled_cpu = 0.0
    try:
        registration = idp.add_client(
            "http://testserver/oidc/callback/", post_logout_uri="http://testserver/signed-out/"
        )
        registration["service_token"] = idp.service_token()
        login = "bench.signin@bench.test"
        idp.add_user(login, PASSWORD, [ROLE])
        pair = measure(idp, registration, login, PASSWORD, options.signins)
        rows += _rows("provider on loopback", *pair)
        unavailable += sum(variant.unavailable for variant in pair)
        if options.signin_delay_ms > 0:
            port = urlsplit(idp.issuer).port or 80
            with TcpProxy(("127.0.0.1", port), delay=options.signin_delay_ms / 1000) as proxy:
                pair = measure(
                    idp, registration, login, PASSWORD, options.signins, api_url=proxy.url
                )
            rows += _rows(f"+{options.signin_delay_ms:g} ms per API call", *pair)
            unavailable += sum(variant.unavailable for variant in pair)
        served = run_server(idp, Path(options.work_dir), login, options.signin_server)
        stats, variant = profiled(idp, registration, login, PASSWORD, options.signin_profile)
        groups = profile_groups(stats, options.signin_profile)
        functions = top_functions(stats, options.signin_profile)
        own = top_own(stats, options.signin_profile)
        profiled_cpu = median([a + b for a, b in zip(variant.cpu, variant.start_cpu, strict=True)])
    finally:
        idp.stop()

    print(
        table(
            f"2. Sign-in cost: the OIDC callback, {options.signins} sign-ins per variant, "
            "alternating",
            ["", "concurrent median", "p90", "sequential median", "p90", "ratio of medians"],
            rows,
        )
    )
    print(
        f"evidence unavailable in {unavailable} sign-ins; CPU = time.process_time() of the "
        "portal process around the callback (the provider runs in its own process); the "
        "added latency is a loopback proxy in front of the provider's Session and User APIs"
    )
    print()
    sign_in, dashboard = median(served.sign_in), median(served.dashboard)
    print(
        table(
            "   Under aidial-portal serve (1 worker): the worker's CPU per request, medians",
            ["", "ms", "p90", "/ one dashboard request"],
            [
                (
                    "POST /login/ (starts the sign-in)",
                    median(served.start),
                    percentile(served.start, 0.9),
                    ratio(median(served.start), dashboard),
                ),
                (
                    "callback",
                    median(served.callback),
                    percentile(served.callback, 0.9),
                    ratio(median(served.callback), dashboard),
                ),
                (
                    "whole sign-in (POST + callback)",
                    sign_in,
                    percentile(served.sign_in, 0.9),
                    ratio(sign_in, dashboard),
                ),
                ("one gated dashboard request", dashboard, percentile(served.dashboard, 0.9), 1.0),
            ],
        )
    )
    print(
        f"goal: whole sign-in / dashboard <= {SERVER_GOAL:g} -> "
        f"{'met' if ratio(sign_in, dashboard) <= SERVER_GOAL else 'NOT met'}; "
        f"{options.signin_server} sign-ins, each followed by 3 dashboard requests with its new "
        "session, one request at a time (CPU from the X-Bench-Cpu-Ns header)"
    )
    print()
    print(
        table(
            f"   Where a sign-in's CPU goes: cProfile (CPU time) of {options.signin_profile} "
            "in-process sign-ins (POST + callback), own time by package",
            ["", "ms per sign-in"],
            groups[:14],
        )
    )
    print()
    print(
        table(
            "   The portal's functions with the most cumulative time",
            ["", "ms per sign-in", "calls per sign-in"],
            functions,
        )
    )
    print()
    print(
        table(
            "   The functions with the most own time (any package)",
            ["", "ms per sign-in", "calls per sign-in"],
            own,
        )
    )
    print(
        f"profiled CPU per sign-in {profiled_cpu * 1000:.1f} ms (inflated by the profiler; "
        "the unprofiled in-process figure is the 'POST + callback' row above, goal <= "
        f"{INPROCESS_GOAL_MS:g} ms); the profile sees the main thread only, so CPU spent in a "
        "thread pool is missing from it"
    )
    print(machine(database_description()))


if __name__ == "__main__":
    main(Options.from_json(sys.argv[1]))
