"""Done when: with the local provider and the portal running as real servers, removing a
partner_admin's authenticator app or role at the provider sends them to Settings (or sign-in)
on their next request, without a sign-in in between; forged, stale and replayed events change
nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from aidial_portal.sessions.signature import HEADER, sign
from tests.operations.browser import PortalBrowser, callback_on, sign_in_at_provider
from tests.support.idp import (
    HostedLogin,
    LocalIdp,
    Person,
    free_loopback_port,
    start_local_idp,
)
from tests.support.servers import PortalServer, start_portal

pytestmark = pytest.mark.idp


@dataclass
class Setup:
    idp: LocalIdp
    portal: PortalServer
    signing_key: str

    def signed_in_partner_admin(self) -> tuple[PortalBrowser, Person]:
        who = self.idp.new_person("partner_admin", totp=True, domain="events.test")
        browser = PortalBrowser()
        final = sign_in_at_provider(browser, self.portal.base_url, self.idp, who)
        assert browser.get(callback_on(self.portal.base_url, final)).status_code == 302
        assert browser.get(self.portal.url("/")).status_code == 200  # compliant
        return browser, who

    def post_event(self, body: bytes, *, key: str | None = None, at: float | None = None) -> int:
        header = sign(
            body, key or self.signing_key, timestamp=int(time.time() if at is None else at)
        )
        return httpx.post(
            self.portal.url("/zitadel/events/"),
            content=body,
            headers={"Content-Type": "application/json", HEADER: header},
            timeout=10,
        ).status_code


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("provider-events")
    port = free_loopback_port()
    base = f"http://127.0.0.1:{port}"
    idp = start_local_idp(root / "idp", return_url=base + "/settings/")
    portal = None
    try:
        client = idp.cli(
            "add-client",
            "--redirect-uri",
            base + "/oidc/callback/",
            "--post-logout-uri",
            base + "/signed-out/",
        )
        target = idp.cli("add-target", "--url", base + "/zitadel/events/")
        portal = start_portal(
            root / "portal",
            port=port,
            AIDIAL_OIDC_ISSUER=idp.issuer,
            AIDIAL_OIDC_CLIENT_ID=client["client_id"],
            AIDIAL_OIDC_CLIENT_SECRET=client["client_secret"],
            AIDIAL_OIDC_EXTRA_AUDIENCES=client["project_id"],
            AIDIAL_ZITADEL_PROJECT_ID=client["project_id"],
            AIDIAL_ZITADEL_SERVICE_TOKEN=idp.service_token(),
            AIDIAL_ZITADEL_ACTIONS_SIGNING_KEY=target["signingKey"],
        )
        yield Setup(idp, portal, target["signingKey"])
    finally:
        if portal is not None:
            portal.stop()
        idp.stop()


def test_removing_the_authenticator_app_sends_the_partner_admin_to_settings(
    setup: Setup,
) -> None:
    browser, who = setup.signed_in_partner_admin()

    setup.idp.cli("remove-totp", "--login", who.login)

    response = browser.get(setup.portal.url("/"))
    assert response.status_code == 302
    assert response.headers["location"].startswith("/settings/")
    settings_page = browser.get(setup.portal.url("/settings/")).text
    assert "Your authenticator app was removed at the identity provider" in settings_page


def test_removing_the_role_sends_the_partner_admin_to_sign_in(setup: Setup) -> None:
    browser, who = setup.signed_in_partner_admin()

    setup.idp.cli("remove-grant", "--login", who.login, "--grant", f"{who.org_id}:partner_admin")

    response = browser.get(setup.portal.url("/"))
    assert response.status_code == 302
    assert response.headers["location"].startswith("/login/")


def test_deactivating_the_person_ends_their_session(setup: Setup) -> None:
    browser, who = setup.signed_in_partner_admin()

    setup.idp.cli("deactivate-user", "--login", who.login)

    assert browser.get(setup.portal.url("/")).headers["location"].startswith("/login/")


def test_forged_stale_and_replayed_events_change_nothing(setup: Setup) -> None:
    browser, who = setup.signed_in_partner_admin()
    body = json.dumps(
        {
            "aggregateID": who.user_id,
            "aggregateType": "user",
            "instanceID": "local-instance",
            "sequence": 42,
            "event_type": "user.locked",
            "userID": "someone",
        }
    ).encode()

    assert setup.post_event(body, key="a-forged-key") == 401
    assert setup.post_event(body, at=time.time() - 600) == 401
    assert browser.get(setup.portal.url("/")).status_code == 200

    assert setup.post_event(body) == 200  # the genuine event, once
    assert browser.get(setup.portal.url("/")).status_code == 302
    # Signed in again (this TOTP step's code is spent: a recovery code this time).
    again = PortalBrowser()
    start = again.submit(setup.portal.url("/login/"), setup.portal.url("/login/"))
    with HostedLogin(setup.idp) as hosted:
        final = hosted.authorize(
            start.headers["location"], who.login, who.password, code=who.recovery_codes[0]
        )
    assert again.get(callback_on(setup.portal.base_url, final)).status_code == 302

    assert setup.post_event(body) == 409  # replayed, freshly signed: refused
    assert again.get(setup.portal.url("/")).status_code == 200
