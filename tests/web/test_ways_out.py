"""Every page that stops a person names the way out (Help and help@aidial.com.au), Help itself
covers the user guide and opens signed out and during an outage, and the no-access page has
no link that only brings the person back to it."""

from __future__ import annotations

import re

import pytest
from django.db import DatabaseError
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from aidial_portal.mfa.evidence import Factor
from tests.support.idp import free_loopback_port
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db
HELP_LINK = 'href="/help/">Help</a>'
HELP_ADDRESS = 'href="mailto:help@aidial.com.au">help@aidial.com.au</a>'


def names_the_way_out(response, status: int) -> None:
    assert response.status_code == status
    html = response.content.decode()
    assert HELP_LINK in html, html
    assert HELP_ADDRESS in html, html


def test_page_not_found_names_help_and_the_support_address(client):
    names_the_way_out(client.get("/no-such-page/"), 404)


@pytest.fixture
def failing_dashboard(monkeypatch):
    def fail_with(error: Exception) -> None:
        def broken(*args, **kwargs):
            raise error

        monkeypatch.setattr("aidial_portal.web.views.pages.security_status", broken)

    return fail_with


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (RuntimeError("bug"), 500, "Something went wrong"),
        (DatabaseError("database down"), 503, "temporarily unavailable"),
        (RedisConnectionError("redis down"), 503, "temporarily unavailable"),
    ],
    ids=["server error", "database down", "redis down"],
)
def test_server_errors_and_outages_name_help_and_the_support_address(
    client, sign_in_as, failing_dashboard, error, status, text
):
    sign_in_as(["client_staff"])
    failing_dashboard(error)
    client.raise_request_exception = False
    response = client.get("/")
    names_the_way_out(response, status)
    assert text in response.content.decode()


def test_provider_down_names_help_and_the_support_address(client, portal_config):
    portal_config(issuer=f"http://127.0.0.1:{free_loopback_port()}")
    names_the_way_out(client.post("/login/"), 503)


def test_refused_sign_in_names_help_and_the_support_address(client):
    response = client.get("/oidc/callback/?state=not-ours&code=whatever")
    names_the_way_out(response, 400)
    assert "Sign-in refused" in response.content.decode()


def test_csrf_failure_names_help_and_the_support_address(client, sign_in_as):
    sign_in_as(["client_staff"])
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    names_the_way_out(strict.post("/settings/recovery-codes/acknowledge/"), 403)


def test_refused_management_names_help_and_the_support_address(client, sign_in_as):
    sign_in_as(["partner_admin"])
    names_the_way_out(client.post("/settings/manage-mfa/"), 403)


def test_administration_refusal_names_help_and_the_support_address(client, sign_in_as):
    sign_in_as(["client_staff"])
    names_the_way_out(client.get("/admin/events/"), 403)


def test_no_access_names_help_and_has_no_link_back_to_itself(client, sign_in_as):
    sign_in_as([])
    for path in ("/", "/no-access/"):
        response = client.get(path)
        names_the_way_out(response, 403)
        html = response.content.decode()
        links = set(re.findall(r'href="([^"#]+)"', html))
        assert "/" not in links
        assert path not in links
        assert {"/settings/", "/help/", "/support/"} <= links
        assert 'action="/logout/"' in html


def test_help_opens_signed_out_and_covers_the_whole_guide(client):
    response = client.get("/help/")
    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    for words in (
        "Which roles require MFA?",
        "Authenticator app (TOTP)",
        "Recovery code",
        "How to enrol in MFA",
        "Open MFA setup",
        "Refresh security status",
        "password manager, or print",
        "I have stored my current",
        "trusted provider management link",
        "I reviewed my recovery codes",
        "I regenerated my recovery codes",
        "If you lose your authenticator device",
        "If you have lost both your authenticator and recovery codes",
        "organisation's administrator",
        HELP_ADDRESS,
        "cannot bypass MFA",
        "authorised support",
        "Disabling MFA",
        "cannot disable MFA",
        "Manage MFA at the provider",
        "A multi-factor check counts for 12 hours",
    ):
        assert words in html, words


def test_help_states_the_configured_check_lifetime(client, portal_config):
    portal_config(mfa_max_age=8 * 3600)
    assert "A multi-factor check counts for 8 hours" in client.get("/help/").content.decode()


def test_help_opens_while_the_session_store_is_down(client, sign_in_as, monkeypatch):
    sign_in_as(["client_staff"])

    def down(self, *args, **kwargs):
        raise DatabaseError("database down")

    monkeypatch.setattr("aidial_portal.sessions.backends.db.SessionStore.load", down)
    response = client.get("/help/")
    assert response.status_code == 200
    assert "If you have lost both your authenticator" in response.content.decode()


def test_sign_in_page_speaks_to_the_person_and_links_help(client):
    html = client.get("/login/").content.decode()
    assert "You may be asked for a code from your authenticator app" in html
    assert "Zitadel" not in html
    assert HELP_LINK in html


def test_signed_out_help_offers_sign_in(client):
    html = client.get("/help/").content.decode()
    assert 'class="button secondary sign-in" href="/login/"' in html
    assert "Sign out" not in html


def test_recovery_code_reminder_never_says_below_without_a_button_below(client, sign_in_as):
    from django.utils import timezone

    sign_in_as(
        ["client_staff"],
        evidence(enrolled=False, factor=None, recovery_codes=False),
        reminder_since=timezone.now(),
        ever_enrolled=True,
        enrolled_observed=False,
    )
    for path in ("/settings/", "/"):
        html = client.get(path).content.decode()
        assert "tell us below" not in html
    sign_in_as(
        ["client_staff"],
        evidence(factor=Factor.RECOVERY_CODE),
        sub="user-2",
        reminder_since=timezone.now(),
        ever_enrolled=True,
        enrolled_observed=True,
    )
    for path in ("/settings/", "/"):
        html = client.get(path).content.decode()
        assert "tell us below" not in html
        assert "I reviewed my recovery codes" in html
