"""A person's browser for the portal, over HTTP: cookies, CSRF tokens from forms."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

from tests.support.idp import HostedLogin, LocalIdp, Person

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class PortalBrowser:
    def __init__(self) -> None:
        self.http = httpx.Client(timeout=10.0, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def get(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def submit(
        self, page_url: str, action_url: str, data: dict[str, str] | None = None
    ) -> httpx.Response:
        """Open a page, take its CSRF token, and post a form as the page would."""
        page = self.http.get(page_url)
        match = TOKEN.search(page.text)
        assert match, f"no form on {page_url} ({page.status_code})"
        return self.http.post(
            action_url, data={"csrfmiddlewaretoken": match.group(1), **(data or {})}
        )


def sign_in_at_provider(browser: PortalBrowser, start_on: str, idp: LocalIdp, who: Person) -> str:
    """Start a sign-in on one instance and complete it at the provider with a TOTP code;
    returns the provider's redirect back to the portal, for whichever instance the test
    delivers it to."""
    start = browser.submit(start_on + "/login/", start_on + "/login/")
    assert start.status_code == 302, start.text
    return finish_at_provider(idp, start.headers["location"], who)


def finish_at_provider(idp: LocalIdp, authorize_url: str, who: Person) -> str:
    with HostedLogin(idp) as hosted:
        return hosted.authorize(
            authorize_url, who.login, who.password, code=idp.totp_code(who.totp_secret)
        )


def callback_on(instance_base: str, final_url: str) -> str:
    """The provider's redirect, delivered to a given instance (as a load balancer might)."""
    parts = urlsplit(final_url)
    return f"{instance_base}{parts.path}?{parts.query}"
