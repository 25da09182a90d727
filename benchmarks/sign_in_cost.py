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
        extra_audiences=frozenset({registration["project_id"]}),
        service_token=registration["service_token"],
        security_url=idp.issuer + SECURITY_PAGE_PATH,
        management_url=idp.issuer + SECURITY_PAGE_PATH,
    )
    with override_settings(AIDIAL=config):
        yield


def one_sign_in(idp: Any, login: str, password: str, variant: Variant) -> None:
    """A whole sign-in; only the portal's callback is timed."""
    from django.test import Client

    from aidial_portal.identity import services
    from tests.support.idp import HostedLogin

    client = Client()
    start = client.post("/login/", {"next": "/"})
    if start.status_code != 302:
        raise RuntimeError(f"/login/ answered {start.status_code}")
    with HostedLogin(idp) as browser:
        final = browser.authorize(start["Location"], login, password)
    parts = urlsplit(final)
    if parts.netloc != "testserver" or parts.path != "/oidc/callback/":
        raise RuntimeError(f"the provider sent the browser to {final}")
    reads_before = len(variant.reader.seconds)
    with mock.patch.object(services, "evidence_reader", return_value=variant.reader):
        cpu_started, started = time.process_time(), time.perf_counter()
        response = client.get(f"{parts.path}?{parts.query}")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if response.status_code != 302 or len(variant.reader.seconds) != reads_before + 1:
        raise RuntimeError(f"the callback answered {response.status_code}, not a redirect")
    variant.latency.append(elapsed)
    variant.cpu.append(cpu)
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
        row("  portal CPU per sign-in (ms)", concurrent.cpu, sequential.cpu),
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
    print(machine(database_description()))


if __name__ == "__main__":
    main(Options.from_json(sys.argv[1]))
