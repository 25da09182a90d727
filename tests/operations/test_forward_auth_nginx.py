"""Forward auth in front of another service, for real: Debian's nginx with the shipped snippet
(`deploy/nginx/aidial-forward-auth.conf`), the portal under `aidial-portal serve`, the local
provider, and an upstream that echoes the headers it receives."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.operations.browser import PortalBrowser, callback_on, finish_at_provider
from tests.support.idp import HostedLogin, Person
from tests.support.nginx import Nginx, echo_upstream, nginx_binary, nginx_in_front
from tests.support.servers import Stack, start_stack

pytestmark = pytest.mark.idp

FORGED = {
    "X-AiDial-User": "forged-admin",
    "x-aidial-roles": "aidial_admin",
    "X-AIDIAL-MFA": "totp",
    "X-AiDial-Email": "boss@example.test",
    "X-AiDial-Redirect": "https://evil.example/",
}


@dataclass
class Site:
    stack: Stack
    nginx: Nginx

    @property
    def portal(self) -> str:
        return self.stack.portal.base_url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    nginx_binary()  # skip (or fail under CI) before starting anything
    work = tmp_path_factory.mktemp("forward-auth")
    stack = start_stack(work / "stack", AIDIAL_FORWARD_AUTH_HOSTS="127.0.0.1")
    try:
        portal_port = urlsplit(stack.portal.base_url).port
        assert portal_port is not None
        with (
            echo_upstream() as upstream_port,
            nginx_in_front(
                work / "nginx", portal_port=portal_port, upstream_port=upstream_port
            ) as nginx,
        ):
            yield Site(stack, nginx)
    finally:
        stack.stop()


def sign_in(site: Site, browser: PortalBrowser, who: Person, login_url: str) -> httpx.Response:
    """From the portal's sign-in page (as the refusal sent the person there) through the
    provider and back: the callback's answer."""
    page = urlsplit(login_url)
    next_url = parse_qs(page.query)["next"][0]
    start = browser.submit(login_url, site.portal + "/login/", {"next": next_url})
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    if who.totp_secret:
        final = finish_at_provider(site.stack.idp, authorize, who)
    else:
        with HostedLogin(site.stack.idp) as hosted:
            final = hosted.authorize(authorize, who.login, who.password)
    return browser.get(callback_on(site.portal, final))


def echoed(response: httpx.Response) -> dict[str, list[str]]:
    """The headers the upstream received, by lower-case name (every value of each)."""
    assert response.status_code == 200, (response.status_code, response.headers, response.text)
    seen: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        seen.setdefault(name.lower(), []).append(value)
    return seen


def test_signed_out_goes_to_sign_in_and_back_to_the_page_with_its_identity(site: Site) -> None:
    who = site.stack.idp.new_person("partner_admin", totp=True, domain="forward.test")
    browser = PortalBrowser()
    page = site.nginx.url("/reports/7?tab=open")
    refused = browser.get(page)
    assert refused.status_code == 302
    login_url = refused.headers["location"]
    assert login_url.startswith(site.portal + "/login/?")
    assert parse_qs(urlsplit(login_url).query)["next"] == [page]

    back = sign_in(site, browser, who, login_url)
    assert back.status_code == 302
    assert back.headers["location"] == page

    seen = echoed(browser.get(page))
    assert seen["x-aidial-user"] == [who.user_id]
    assert seen["x-aidial-roles"] == ["partner_admin"]
    assert seen["x-aidial-organisations"] == [who.org_id]
    assert seen["x-aidial-mfa"] == ["totp"]
    assert seen["x-aidial-email"] == [who.login]
    assert int(seen["x-aidial-auth-time"][0]) > 0
    assert "x-aidial-redirect" not in seen
    # Refusals are in the portal's access log; grants, one per proxied request, are not.
    log = site.stack.portal.log_text()
    assert "GET /auth/forward/ 401" in log
    assert "GET /auth/forward/ 200" not in log


def test_forged_identity_headers_never_reach_the_upstream(site: Site) -> None:
    who = site.stack.idp.new_person("client_staff", totp=True, domain="forward.test")
    browser = PortalBrowser()
    page = site.nginx.url("/notes/")
    sign_in(site, browser, who, browser.get(page).headers["location"])
    seen = echoed(browser.http.get(page, headers=FORGED))
    assert seen["x-aidial-user"] == [who.user_id]
    assert seen["x-aidial-roles"] == ["client_staff"]
    assert seen["x-aidial-mfa"] == ["totp"]
    assert seen["x-aidial-email"] != ["boss@example.test"]
    assert "x-aidial-redirect" not in seen
    # Signed out, forging them gets nowhere either.
    stranger = httpx.get(page, headers=FORGED)
    assert stranger.status_code == 302
    assert stranger.headers["location"].startswith(site.portal + "/login/")


def test_a_non_compliant_person_is_sent_to_settings(site: Site) -> None:
    who = site.stack.idp.new_person("partner_admin", domain="forward.test")  # no TOTP
    browser = PortalBrowser()
    page = site.nginx.url("/reports/")
    sign_in(site, browser, who, browser.get(page).headers["location"])
    refused = browser.get(page)
    assert refused.status_code == 302
    settings_url = refused.headers["location"]
    assert settings_url.startswith(site.portal + "/settings/?")
    assert parse_qs(urlsplit(settings_url).query)["next"] == [page]
    shown = browser.get(settings_url)
    assert shown.status_code == 200
    assert "Security step needed" in shown.text
    assert "Refresh security status" in shown.text


def test_a_path_for_another_role_or_a_recent_check_says_so(site: Site) -> None:
    who = site.stack.idp.new_person("client_staff", domain="forward.test")  # no TOTP
    browser = PortalBrowser()
    sign_in(site, browser, who, browser.get(site.nginx.url("/")).headers["location"])
    assert echoed(browser.get(site.nginx.url("/")))["x-aidial-mfa"] == ["none"]

    admin = browser.get(site.nginx.url("/admin/users"))
    assert admin.status_code == 302
    assert admin.headers["location"].startswith(site.portal + "/auth/forward/step/?")
    assert "aidial_admin" in browser.get(admin.headers["location"]).text

    recent = browser.get(site.nginx.url("/recent/"))
    assert recent.status_code == 302
    step = browser.get(recent.headers["location"])
    assert "A recent multi-factor check is needed" in step.text
    assert "Refresh security status" in step.text


def test_an_unlisted_host_is_refused(site: Site) -> None:
    who = site.stack.idp.new_person("client_staff", totp=True, domain="forward.test")
    browser = PortalBrowser()
    sign_in(site, browser, who, browser.get(site.nginx.url("/")).headers["location"])
    for client in (browser.http, httpx.Client()):
        refused = client.get(site.nginx.url("/"), headers={"Host": "evil.example.test"})
        assert refused.status_code == 403
        assert "location" not in refused.headers


def test_an_unlisted_next_is_refused(site: Site) -> None:
    who = site.stack.idp.new_person("client_staff", totp=True, domain="forward.test")
    browser = PortalBrowser()
    sign_in(site, browser, who, browser.get(site.nginx.url("/")).headers["location"])
    elsewhere = browser.get(site.portal + "/login/?next=http://evil.example.test/")
    assert elsewhere.headers["location"] == "/"
    listed = site.nginx.url("/listed/")
    assert browser.http.get(site.portal + "/login/", params={"next": listed}).headers[
        "location"
    ] == (listed)
