"""When the provider, the database or Redis fail: answer, say what is missing, fail closed."""

from __future__ import annotations

import httpx
import pytest

from tests.operations.browser import PortalBrowser, callback_on, sign_in_at_provider
from tests.support.idp import _free_loopback_port, start_local_idp
from tests.support.servers import start_portal

pytestmark = pytest.mark.idp


def test_the_portal_answers_healthz_and_says_what_is_missing_when_everything_is_down(
    tmp_path, postgres_database, redis_db, proxies
):
    portal = start_portal(
        tmp_path / "portal",
        AIDIAL_DATABASE_URL=(
            f"postgresql://postgres@127.0.0.1:{proxies['postgres'].port}/{postgres_database}"
        ),
        AIDIAL_REDIS_URL=f"redis://127.0.0.1:{proxies['redis'].port}/{redis_db}",
        AIDIAL_OIDC_ISSUER=f"http://127.0.0.1:{_free_loopback_port()}",  # no provider there
    )
    try:
        proxies["postgres"].close()
        proxies["redis"].close()
        with httpx.Client(timeout=15.0) as http:
            assert http.get(portal.url("/healthz")).status_code == 200
            ready = http.get(portal.url("/readyz"))
            assert ready.status_code == 503
            assert ready.json()["checks"] == {
                "database": "unavailable",
                "cache": "unavailable",
                "provider": "unavailable",
            }
            http.cookies.set("aidial_session", "x" * 32)
            page = http.get(portal.url("/settings/"))
            assert page.status_code == 503
            assert "temporarily unavailable" in page.text
            assert "Traceback" not in page.text
    finally:
        portal.stop()
    assert "Traceback" not in portal.log_text()


def test_provider_down_at_sign_in_is_a_503_and_signed_in_sessions_keep_working(tmp_path):
    public = f"http://127.0.0.1:{_free_loopback_port()}"
    idp = start_local_idp(tmp_path / "idp", return_url=public + "/settings/")
    registration = idp.add_client(public + "/oidc/callback/")
    who = idp.new_person("aidial_admin", totp=True, domain="outage.test")
    portal = start_portal(
        tmp_path / "portal",
        port=int(public.rsplit(":", 1)[1]),
        AIDIAL_OIDC_ISSUER=idp.issuer,
        AIDIAL_OIDC_CLIENT_ID=registration["client_id"],
        AIDIAL_OIDC_CLIENT_SECRET=registration["client_secret"],
        AIDIAL_ZITADEL_PROJECT_ID=registration["project_id"],
        AIDIAL_ZITADEL_SERVICE_TOKEN=idp.service_token(),
    )
    browser, other = PortalBrowser(), PortalBrowser()
    try:
        final = sign_in_at_provider(browser, portal.base_url, idp, who)
        assert browser.get(callback_on(portal.base_url, final)).status_code == 302
        idp.stop()
        # The signed-in person keeps working: the gate needs no network.
        assert browser.get(portal.url("/")).status_code == 200
        # A new sign-in gets a clear page, not a traceback.
        refused = other.submit(portal.url("/login/"), portal.url("/login/"))
        assert refused.status_code in {302, 503}
        if refused.status_code == 302:  # discovery was cached; the provider itself is down
            with pytest.raises(httpx.ConnectError):
                other.get(refused.headers["location"])
        else:
            assert "The identity provider is unavailable" in refused.text
    finally:
        browser.close()
        other.close()
        portal.stop()
        idp.stop()
