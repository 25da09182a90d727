"""The portal mounted under a path prefix (`/portal/`), as behind a proxy that passes
SCRIPT_NAME: every page, link, form and redirect stays under the prefix, and the provider
returns to `{AIDIAL_BASE_URL}/oidc/callback/`."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.handlers.wsgi import get_script_name
from django.test import Client
from django.test.client import ClientHandler
from django.urls import set_script_prefix

from aidial_portal.config import SECURITY_PAGE_PATH
from aidial_portal.identity import providers
from tests.flows.conftest import other_applications
from tests.support.idp import HostedLogin, LocalIdp
from tests.support.servers import REPO_ROOT, portal_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.idp]

PREFIX = "/portal"
BASE_URL = "http://testserver" + PREFIX


class MountedHandler(ClientHandler):
    """What Django's WSGI handler does and the test client skips: set the script prefix
    for the request."""

    def __call__(self, environ: dict[str, Any]) -> Any:
        set_script_prefix(get_script_name(environ))
        try:
            return super().__call__(environ)
        finally:
            set_script_prefix("/")


class MountedClient(Client):
    """A browser talking to the portal at http://testserver/portal/…: it requests full
    paths, and the "proxy" splits them into SCRIPT_NAME and PATH_INFO."""

    def __init__(self) -> None:
        super().__init__(SCRIPT_NAME=PREFIX)
        self.handler = MountedHandler(enforce_csrf_checks=False)

    def visit(self, path: str, data: dict[str, str] | None = None, *, post: bool = False) -> Any:
        assert path.startswith(PREFIX + "/"), f"{path} is outside the mount"
        inner = path[len(PREFIX) :]
        return self.post(inner, data or {}) if post else self.get(inner, data)


@pytest.fixture
def mounted(settings: Any, local_idp: LocalIdp) -> Iterator[MountedClient]:
    registration = local_idp.add_client(
        BASE_URL + "/oidc/callback/", post_logout_uri=BASE_URL + "/signed-out/"
    )
    # What AIDIAL_BASE_URL with a path sets at start-up; STATIC_URL again so that static
    # file URLs are worked out afresh, under the prefix.
    settings.FORCE_SCRIPT_NAME = PREFIX
    settings.STATIC_URL = "static/"
    settings.AIDIAL = replace(
        settings.AIDIAL,
        base_url=BASE_URL,
        issuer=local_idp.issuer,
        api_url=local_idp.issuer,
        client_id=registration["client_id"],
        client_secret=registration["client_secret"],
        project_id=registration["project_id"],
        extra_audiences=other_applications(local_idp, registration["client_id"]),
        service_token=local_idp.service_token(),
        security_url=local_idp.issuer + SECURITY_PAGE_PATH,
        management_url=local_idp.issuer + SECURITY_PAGE_PATH,
    )
    yield MountedClient()
    providers.reset()


def links(response: Any) -> set[str]:
    html = response.content.decode()
    return set(re.findall(r'(?:href|action)="([^"#][^"]*)"', html))


def test_sign_in_and_settings_work_under_a_path_prefix(mounted, local_idp):
    who = local_idp.new_person("client_staff", domain="mounted.test")

    # Not signed in: the gate sends the person to the sign-in page under the prefix.
    gate = mounted.visit(PREFIX + "/settings/")
    assert gate.status_code == 302
    assert gate["Location"] == f"{PREFIX}/login/?next=%2Fportal%2Fsettings%2F"

    page = mounted.visit(gate["Location"].split("?")[0], {"next": PREFIX + "/settings/"})
    assert page.status_code == 200
    assert f'action="{PREFIX}/login/"' in page.content.decode()
    assert all(link.startswith((PREFIX + "/", "mailto:")) for link in links(page)), links(page)

    start = mounted.visit(PREFIX + "/login/", {"next": PREFIX + "/settings/"}, post=True)
    assert start.status_code == 302
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["redirect_uri"] == [BASE_URL + "/oidc/callback/"]

    with HostedLogin(local_idp) as browser:
        final = browser.authorize(start["Location"], who.login, who.password)
    back = urlsplit(final)
    assert (back.netloc, back.path) == ("testserver", PREFIX + "/oidc/callback/")
    done = mounted.visit(back.path, parse_qs(back.query))  # type: ignore[arg-type]
    assert done.status_code == 302
    assert done["Location"] == PREFIX + "/settings/"

    settings_page = mounted.visit(done["Location"])
    assert settings_page.status_code == 200
    html = settings_page.content.decode()
    assert f'action="{PREFIX}/settings/refresh/"' in html
    assert f'action="{PREFIX}/logout/"' in html
    assert f'href="{PREFIX}/static/' in html
    outside = {
        link
        for link in links(settings_page)
        if not link.startswith((PREFIX + "/", "mailto:", local_idp.issuer))
    }
    assert not outside

    signed_out = mounted.visit(PREFIX + "/logout/", post=True)
    assert signed_out.status_code == 302
    assert parse_qs(urlsplit(signed_out["Location"]).query)["post_logout_redirect_uri"] == [
        BASE_URL + "/signed-out/"
    ]


def test_a_path_in_the_base_url_puts_every_url_under_it(tmp_path):
    """Started with AIDIAL_BASE_URL=…/portal, the portal writes pages and static files there."""
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.urls import reverse\n"
        "print(reverse('login'), reverse('support:requests'), settings.STATIC_URL,\n"
        "      settings.SESSION_COOKIE_PATH, settings.CSRF_COOKIE_PATH)\n"
    )
    env = portal_env(tmp_path, "http://127.0.0.1:8000/portal/")
    env["DJANGO_SETTINGS_MODULE"] = "aidial_portal.settings"
    ran = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [
        "/portal/login/",
        "/portal/support/requests/",
        "/portal/static/",
        "/portal/",  # the session cookie goes to the portal only, not the whole host
        "/portal/",
    ]
