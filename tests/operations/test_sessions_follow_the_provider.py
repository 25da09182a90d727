"""Portal sessions end when their Zitadel session ends: two instances on one PostgreSQL and one
Redis, the local provider, real servers. Back-channel logout when it is delivered, and
`aidial-portal sessions revalidate` when it is not."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import redis

from tests.operations.browser import PortalBrowser, callback_on, sign_in_at_provider
from tests.operations.conftest import REDIS, _require, throwaway_postgres
from tests.support.idp import HostedLogin, LocalIdp, Person, free_loopback_port, start_local_idp
from tests.support.servers import REPO_ROOT, PortalServer, portal_command, start_portal
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.idp

# The sessions engineer's own Redis database (13 belongs to the other operations tests).
REDIS_DB = 12


@contextmanager
def empty_redis_db() -> Iterator[int]:
    client = redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB)
    try:
        client.ping()
    except redis.ConnectionError:
        _require("Redis (127.0.0.1:6379)", ok=False)
    client.flushdb()
    try:
        yield REDIS_DB
    finally:
        client.flushdb()
        client.close()


@dataclass
class Cluster:
    idp: LocalIdp
    a: PortalServer
    b: PortalServer
    # The provider delivers logout tokens through this proxy to instance A; closing it is
    # "back-channel delivery is down".
    delivery: TcpProxy

    def signed_in_person(self) -> tuple[PortalBrowser, Person]:
        who = self.idp.new_person("client_staff", totp=True, domain="sessions.test")
        browser = PortalBrowser()
        final = sign_in_at_provider(browser, self.a.base_url, self.idp, who)
        assert browser.get(callback_on(self.a.base_url, final)).status_code == 302
        assert self.signed_in_on_both(browser)
        return browser, who

    def signed_in_keeping_the_provider_session(self) -> tuple[PortalBrowser, HostedLogin]:
        """As `signed_in_person`, keeping the browser's cookies at the provider too."""
        who = self.idp.new_person("client_staff", totp=True, domain="sessions.test")
        browser, at_provider = PortalBrowser(), HostedLogin(self.idp)
        start = browser.submit(self.a.url("/login/"), self.a.url("/login/"))
        final = at_provider.authorize(
            start.headers["location"],
            who.login,
            who.password,
            code=self.idp.totp_code(who.totp_secret),
        )
        assert browser.get(callback_on(self.b.base_url, final)).status_code == 302
        assert self.signed_in_on_both(browser)
        return browser, at_provider

    def signed_in_on_both(self, browser: PortalBrowser) -> bool:
        # Settings needs a session but no role or MFA: 200 signed in, 302 to sign-in if not.
        on_a = browser.get(self.a.url("/settings/")).status_code
        on_b = browser.get(self.b.url("/settings/")).status_code
        assert on_a == on_b, (on_a, on_b)
        return on_a == 200

    def revalidate(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*portal_command(), "sessions", "revalidate", "--timeout", "2"],
            cwd=REPO_ROOT,
            env=self.a.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with throwaway_postgres() as database, empty_redis_db() as redis_db:
        yield from _cluster(tmp_path_factory.mktemp("sessions-cluster"), database, redis_db)


def _cluster(tmp_path, database: str, redis_db: int) -> Iterator[Cluster]:
    public = f"http://127.0.0.1:{free_loopback_port()}"
    port_a = free_loopback_port()
    delivery = TcpProxy(("127.0.0.1", port_a))
    idp = start_local_idp(tmp_path / "idp", return_url=public + "/settings/")
    registration = idp.cli(
        "add-client",
        "--redirect-uri",
        public + "/oidc/callback/",
        "--post-logout-uri",
        public + "/signed-out/",
        "--backchannel-logout-uri",
        delivery.url + "/oidc/backchannel-logout/",
    )
    shared = {
        "AIDIAL_BASE_URL": public,
        "AIDIAL_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}",
        "AIDIAL_REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "AIDIAL_SECRET_KEY": "one-key-for-the-whole-sessions-cluster-0123456789-abcdef",
        "AIDIAL_OIDC_ISSUER": idp.issuer,
        "AIDIAL_OIDC_CLIENT_ID": registration["client_id"],
        "AIDIAL_OIDC_CLIENT_SECRET": registration["client_secret"],
        "AIDIAL_OIDC_EXTRA_AUDIENCES": registration["project_id"],
        "AIDIAL_ZITADEL_SERVICE_TOKEN": idp.service_token(),
    }
    started: list[PortalServer] = []
    try:
        started.append(start_portal(tmp_path / "a", port=port_a, **shared))
        started.append(start_portal(tmp_path / "b", **shared))
        yield Cluster(idp, started[0], started[1], delivery)
    finally:
        for instance in started:
            instance.stop()
        delivery.close()
        idp.stop()


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """`checked N, ended N, unreadable N` as numbers (other tests' sessions are live too)."""
    last = result.stdout.strip().splitlines()[-1]
    counts = {name: int(number) for name, number in (part.split() for part in last.split(", "))}
    return {"ended": counts["ended"], "unreadable": counts["unreadable"]}


def test_signing_out_at_the_provider_ends_the_portal_session_on_both_instances(
    cluster: Cluster,
) -> None:
    browser, at_provider = cluster.signed_in_keeping_the_provider_session()
    bystander, _ = cluster.signed_in_person()

    # The person ends their Zitadel session on the provider's own logout page.
    at_provider.sign_out(choose_sign_out=True)

    assert not cluster.signed_in_on_both(browser)
    assert cluster.signed_in_on_both(bystander)
    at_provider.close()
    browser.close()
    bystander.close()


def test_terminating_sessions_at_the_provider_ends_the_portal_session_on_both_instances(
    cluster: Cluster,
) -> None:
    browser, who = cluster.signed_in_person()
    bystander, _ = cluster.signed_in_person()

    cluster.idp.cli("terminate-sessions", "--login", who.login)

    assert not cluster.signed_in_on_both(browser)
    assert browser.get(cluster.b.url("/settings/")).headers["location"] == (
        "/login/?next=%2Fsettings%2F"
    )
    assert cluster.signed_in_on_both(bystander)
    browser.close()
    bystander.close()


def test_revalidation_ends_sessions_ended_at_the_provider_while_delivery_was_down(
    cluster: Cluster,
) -> None:
    terminated, who = cluster.signed_in_person()
    signed_out, at_provider = cluster.signed_in_keeping_the_provider_session()
    bystander, _ = cluster.signed_in_person()
    cluster.delivery.close()  # from now on no logout token reaches the portal

    cluster.idp.cli("terminate-sessions", "--login", who.login)
    at_provider.sign_out(choose_sign_out=True)
    assert cluster.signed_in_on_both(terminated)  # no message came
    assert cluster.signed_in_on_both(signed_out)

    result = cluster.revalidate()

    assert result.returncode == 0, result.stderr
    assert summary(result) == {"ended": 2, "unreadable": 0}
    assert not cluster.signed_in_on_both(terminated)
    assert not cluster.signed_in_on_both(signed_out)
    assert cluster.signed_in_on_both(bystander)
    for browser in (terminated, signed_out, bystander):
        browser.close()
    at_provider.close()


def test_revalidation_ends_nothing_when_the_provider_is_down(cluster: Cluster) -> None:
    # Last in this module: it stops the provider.
    browser, _ = cluster.signed_in_person()
    cluster.idp.stop()

    result = cluster.revalidate()

    assert result.returncode == 0, result.stderr
    counts = summary(result)
    assert counts["ended"] == 0
    assert counts["unreadable"] >= 1
    assert f"provider_unreachable {counts['unreadable']}" in result.stderr
    assert cluster.signed_in_on_both(browser)
    browser.close()
