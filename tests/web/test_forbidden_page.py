"""One 403 page (`handler403`) for every view that raises PermissionDenied: it says who the
page is for, offers the way out, and keeps its links under the portal's mount prefix."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.handlers.wsgi import get_script_name
from django.test import Client
from django.test.client import ClientHandler
from django.urls import set_script_prefix

from tests.support.portal import evidence

pytestmark = pytest.mark.django_db

ROLE_HEADING = "Not available for your role"
REPORTS = "This page is for AiDial administrators and operators, and for partner and client"
RECORDS = "The records pages are for AiDial administrators."
SUPPORT = "Support requests are for AiDial administrators and operators."


@pytest.mark.parametrize(
    ("path", "role", "audience"),
    [
        ("/admin/compliance/", "client_staff", REPORTS),
        ("/admin/compliance/export.csv", "partner_user", REPORTS),
        ("/admin/events/", "client_manager", REPORTS),
        ("/admin/records/", "aidial_operator", RECORDS),
        ("/admin/records/login/", "aidial_admin", RECORDS),
        ("/support/requests/", "partner_admin", SUPPORT),
    ],
)
def test_a_refused_page_says_who_it_is_for(client, sign_in_as, path, role, audience):
    sign_in_as([role], evidence(), sub="viewer")
    response = client.get(path)
    assert response.status_code == 403
    html = " ".join(response.content.decode().split())
    assert ROLE_HEADING in html
    assert audience in html
    assert 'href="/">Back to the dashboard</a>' in html
    assert 'href="/help/">Help</a>' in html


class _MountedHandler(ClientHandler):
    """What Django's WSGI handler does and the test client skips: set the script prefix."""

    def __call__(self, environ: dict[str, Any]) -> Any:
        set_script_prefix(get_script_name(environ))
        try:
            return super().__call__(environ)
        finally:
            set_script_prefix("/")


def test_the_refusal_page_keeps_its_links_under_the_mount_prefix(client, sign_in_as):
    sign_in_as(["client_staff"], evidence(), sub="viewer")
    mounted = Client(SCRIPT_NAME="/portal")
    mounted.handler = _MountedHandler(enforce_csrf_checks=False)
    mounted.cookies = client.cookies
    response = mounted.get("/support/requests/")
    assert response.status_code == 403
    html = response.content.decode()
    assert SUPPORT in html
    assert 'href="/portal/">Back to the dashboard</a>' in html
    assert 'href="/portal/help/">Help</a>' in html
    assert 'href="/help/"' not in html
