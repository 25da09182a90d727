"""Two portal instances on one PostgreSQL and one Redis, as behind a load balancer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.operations.browser import (
    PortalBrowser,
    callback_on,
    finish_at_provider,
    sign_in_at_provider,
)
from tests.operations.conftest import empty_redis_db, throwaway_postgres
from tests.support.idp import LocalIdp, _free_loopback_port, start_local_idp
from tests.support.servers import PortalServer, start_portal

pytestmark = pytest.mark.idp


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[tuple[LocalIdp, list[PortalServer]]]:
    with throwaway_postgres() as database, empty_redis_db() as redis_db:
        yield from _cluster(tmp_path_factory.mktemp("cluster"), database, redis_db)


def _cluster(
    tmp_path, postgres_database, redis_db
) -> Iterator[tuple[LocalIdp, list[PortalServer]]]:
    # One public address for both instances: the provider only knows the load balancer's.
    public = f"http://127.0.0.1:{_free_loopback_port()}"
    idp = start_local_idp(tmp_path / "idp", return_url=public + "/settings/")
    registration = idp.add_client(public + "/oidc/callback/")
    shared = {
        "AIDIAL_BASE_URL": public,
        "AIDIAL_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{postgres_database}",
        "AIDIAL_REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "AIDIAL_SECRET_KEY": "one-key-for-the-whole-cluster-0123456789-abcdefghij",
        "AIDIAL_OIDC_ISSUER": idp.issuer,
        "AIDIAL_OIDC_CLIENT_ID": registration["client_id"],
        "AIDIAL_OIDC_CLIENT_SECRET": registration["client_secret"],
        "AIDIAL_ZITADEL_PROJECT_ID": registration["project_id"],
        "AIDIAL_ZITADEL_SERVICE_TOKEN": idp.service_token(),
    }
    instances: list[PortalServer] = []
    try:
        for name in ("a", "b"):
            instances.append(start_portal(tmp_path / name, **shared))
        yield idp, instances
    finally:
        for instance in instances:
            instance.stop()
        idp.stop()


def test_a_session_and_an_acknowledgement_on_one_instance_hold_on_the_other(cluster):
    idp, (a, b) = cluster
    who = idp.new_person("client_staff", totp=True, domain="cluster.test")
    browser = PortalBrowser()
    final = sign_in_at_provider(browser, a.base_url, idp, who)
    assert browser.get(callback_on(a.base_url, final)).status_code == 302
    assert browser.get(b.url("/")).status_code == 200  # A's session is valid on B
    settings_on_b = browser.get(b.url("/settings/")).text
    assert "I have stored my current recovery codes" in settings_on_b
    acknowledged = browser.submit(
        a.url("/settings/"), a.url("/settings/recovery-codes/acknowledge/")
    )
    assert acknowledged.status_code == 302
    assert "I have stored my current recovery codes" not in browser.get(b.url("/settings/")).text
    assert browser.get(a.url("/readyz")).status_code == 200
    assert browser.get(b.url("/readyz")).status_code == 200
    browser.close()


def test_a_sign_in_begun_on_one_instance_finishes_on_the_other(cluster):
    idp, (a, b) = cluster
    who = idp.new_person("partner_admin", totp=True, domain="cluster.test")
    browser = PortalBrowser()
    start = browser.submit(a.url("/login/"), a.url("/login/"))
    assert start.status_code == 302
    # Instance A goes away in the middle of the sign-in; nothing it held is lost.
    a.stop()
    final = finish_at_provider(idp, start.headers["location"], who)
    done = browser.get(callback_on(b.base_url, final))
    assert done.status_code == 302, done.text
    assert browser.get(b.url("/")).status_code == 200
    browser.close()
