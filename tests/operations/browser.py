"""A person's browser for the portal, over HTTP: cookies, CSRF tokens from forms."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx

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


def callback_on(instance_base: str, final_url: str) -> str:
    """The provider's redirect, delivered to a given instance (as a load balancer might)."""
    parts = urlsplit(final_url)
    return f"{instance_base}{parts.path}?{parts.query}"
