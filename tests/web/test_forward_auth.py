"""`/auth/forward/`: what a reverse proxy in front of another AiDial service is told."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client import REGISTRY

from aidial_portal.accounts import session_state
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.mfa.evidence import Factor
from tests.support.portal import evidence

WIKI = "https://wiki.example.test/pages/1?tab=history"
NGINX = {"HTTP_X_ORIGINAL_URL": WIKI}
TRAEFIK = {
    "HTTP_X_FORWARDED_PROTO": "https",
    "HTTP_X_FORWARDED_HOST": "wiki.example.test",
    "HTTP_X_FORWARDED_URI": "/pages/1?tab=history",
}
PORTAL = "https://portal.example.test"


@pytest.fixture(autouse=True)
def _forward_hosts(portal_config):
    portal_config(base_url=PORTAL, forward_auth_hosts=("wiki.example.test", "*.apps.example.test"))


def ask(client, query="", **headers):
    return client.get("/auth/forward/" + (f"?{query}" if query else ""), **headers)


def refusals(reason: str) -> float:
    value = REGISTRY.get_sample_value("aidial_forward_auth_refusals_total", {"reason": reason})
    return value or 0.0


def next_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["next"][0]


# -- signed out -------------------------------------------------------------------------------


def test_signed_out_nginx_style_gets_401_and_where_to_sign_in(client):
    response = ask(client, **NGINX)
    assert response.status_code == 401
    target = response["X-AiDial-Redirect"]
    assert target.startswith(PORTAL + "/login/?")
    assert next_of(target) == WIKI


def test_signed_out_traefik_style_is_sent_to_sign_in_with_the_original_url(client):
    response = ask(client, **TRAEFIK)
    assert response.status_code == 302
    assert response["Location"].startswith(PORTAL + "/login/?")
    assert next_of(response["Location"]) == WIKI


def test_sign_in_with_an_absolute_next_on_a_listed_host_lands_there(client, sign_in_as):
    sign_in_as(["client_staff"])
    response = client.get("/login/", {"next": WIKI})
    assert response["Location"] == WIKI


def test_sign_in_with_an_absolute_next_elsewhere_lands_on_the_dashboard(client, sign_in_as):
    sign_in_as(["client_staff"])
    assert client.get("/login/", {"next": "https://evil.example/"})["Location"] == "/"


# -- compliant: the identity headers ----------------------------------------------------------


def test_a_compliant_session_is_granted_with_its_identity(client, sign_in_as):
    account = sign_in_as(["partner_admin", "client_staff"], evidence(factor=Factor.TOTP))
    state = session_state.load(client.session)
    assert state is not None
    response = ask(client, **NGINX)
    assert response.status_code == 200
    assert response["X-AiDial-User"] == account.subject
    assert response["X-AiDial-Roles"] == "client_staff,partner_admin"
    assert response["X-AiDial-Organisations"] == "org-home"
    assert response["X-AiDial-MFA"] == "totp"
    assert state.auth_time is not None
    assert response["X-AiDial-Auth-Time"] == str(int(state.auth_time.timestamp()))


def test_a_recovery_code_sign_in_says_so(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(factor=Factor.RECOVERY_CODE))
    assert ask(client, **TRAEFIK)["X-AiDial-MFA"] == "recovery_code"


def test_an_optional_role_without_mfa_is_granted_and_says_none(client, sign_in_as):
    sign_in_as(["client_staff"], evidence(enrolled=False, factor=None))
    response = ask(client, **NGINX)
    assert response.status_code == 200
    assert response["X-AiDial-MFA"] == "none"


def test_email_and_name_come_from_the_sign_in_and_cannot_split_a_header(client, sign_in_as):
    sign_in_as(["client_staff"])
    session = client.session
    session[session_state.SESSION_KEY] |= {"email": "zoë@example.test", "name": "Zoë\r\nX-Evil: 1"}
    session.save()
    response = ask(client, **NGINX)
    assert response["X-AiDial-Email"] == "zo%C3%AB@example.test"
    assert response["X-AiDial-Name"] == "Zo%C3%AB%0D%0AX-Evil: 1"
    assert unquote(response["X-AiDial-Name"]) == "Zoë\r\nX-Evil: 1"
    assert "X-Evil" not in response.headers


def test_head_is_answered_like_get(client, sign_in_as):
    sign_in_as(["client_staff"])
    response = client.head("/auth/forward/", **NGINX)
    assert response.status_code == 200
    assert response["X-AiDial-User"] == "user-1"


def test_a_grant_is_neither_logged_nor_recorded(client, sign_in_as, caplog):
    sign_in_as(["client_staff"])
    before = SecurityEvent.objects.count()
    with caplog.at_level("DEBUG"):
        assert ask(client, **NGINX).status_code == 200
    assert [record for record in caplog.records if record.name.startswith("aidial")] == []
    assert SecurityEvent.objects.count() == before


def test_forward_auth_reads_the_session_and_nothing_else(client, sign_in_as, settings):
    sign_in_as(["partner_admin"])
    with CaptureQueriesContext(connection) as queries:
        response = ask(client, "role=partner_admin&max_age=600", **NGINX)
    assert response.status_code == 200
    reads = [query["sql"] for query in queries.captured_queries]
    uses_database_sessions = settings.SESSION_ENGINE.endswith(".db")
    # The session store's one read (none when sessions live in Redis), and nothing more.
    assert len(reads) == (1 if uses_database_sessions else 0), reads
    assert all('FROM "django_session"' in sql and sql.startswith("SELECT") for sql in reads)


# -- refused: not compliant, a role, a recent check -------------------------------------------


def test_a_non_compliant_session_is_refused_and_sent_to_settings(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    before = refusals("not_enrolled")
    nginx = ask(client, **NGINX)
    assert nginx.status_code == 403
    assert nginx["X-AiDial-Redirect"].startswith(PORTAL + "/settings/?")
    assert next_of(nginx["X-AiDial-Redirect"]) == WIKI
    traefik = ask(client, **TRAEFIK)
    assert traefik.status_code == 302
    assert next_of(traefik["Location"]) == WIKI
    assert refusals("not_enrolled") == before + 2
    assert "X-AiDial-User" not in traefik.headers


def test_a_route_for_another_role_refuses_and_says_which(client, sign_in_as):
    sign_in_as(["client_staff"])
    before = refusals("role_missing")
    response = ask(client, "role=aidial_admin,aidial_operator", **TRAEFIK)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert urlsplit(response["Location"]).path == "/auth/forward/step/"
    assert query["why"] == ["role"]
    assert query["roles"] == ["aidial_admin,aidial_operator"]
    assert refusals("role_missing") == before + 1
    page = client.get(response["Location"].removeprefix(PORTAL))
    assert b"aidial_admin or aidial_operator" in page.content


def test_a_route_for_any_of_the_persons_roles_is_granted(client, sign_in_as):
    sign_in_as(["client_staff"])
    assert ask(client, "role=aidial_admin,client_staff", **NGINX).status_code == 200


def test_an_old_multi_factor_check_is_sent_to_refresh_security_status(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(at=timezone.now() - timedelta(hours=2)))
    assert ask(client, "max_age=7200", **NGINX).status_code == 403
    response = ask(client, "max_age=3600", **TRAEFIK)
    assert response.status_code == 302
    page = client.get(response["Location"].removeprefix(PORTAL))
    assert page.status_code == 200
    assert b"Refresh security status" in page.content
    assert b"no older than 60 minutes" in page.content
    assert f'name="next" value="{WIKI}"'.encode() in page.content.replace(b"&amp;", b"&")


def test_a_recent_check_is_granted(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(at=timezone.now() - timedelta(minutes=5)))
    assert ask(client, "max_age=600", **NGINX).status_code == 200


def test_max_age_needs_a_second_factor_even_for_an_optional_role(client, sign_in_as):
    sign_in_as(["client_staff"], evidence(enrolled=False, factor=None))
    assert ask(client, "max_age=600", **NGINX).status_code == 403


def test_refresh_from_the_step_page_carries_next_through(client, sign_in_as, monkeypatch):
    from aidial_portal.accounts import sign_in as flow

    sign_in_as(["partner_admin"])
    began = []

    def begin_refresh(request, state, *, next_path):
        began.append(next_path)
        return "http://127.0.0.1:8080/oauth/v2/authorize"

    monkeypatch.setattr(flow, "begin_refresh", begin_refresh)
    client.post("/settings/refresh/", {"next": WIKI})
    assert began == ["/settings/?" + urlencode({"next": WIKI})]


def test_an_acknowledgement_returns_to_a_listed_service(client, sign_in_as):
    sign_in_as(["partner_admin"])
    response = client.post("/settings/recovery-codes/acknowledge/", {"next": WIKI})
    assert response["Location"] == WIKI


def test_a_session_past_its_idle_limit_counts_as_signed_out(client, sign_in_as, portal_config):
    sign_in_as(["client_staff"])
    session = client.session
    session["aidial_seen"] = int((timezone.now() - timedelta(hours=2)).timestamp())
    session.save()
    before = refusals("session_ended")
    assert ask(client, **NGINX).status_code == 401
    assert refusals("session_ended") == before + 1


def test_a_session_without_a_portal_role_is_sent_to_no_access(client, sign_in_as):
    sign_in_as(["someone_else"])
    response = ask(client, **TRAEFIK)
    assert response["Location"] == PORTAL + "/no-access/"


# -- the proxy's request ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_ORIGINAL_URL": "https://evil.example/"},
        {"HTTP_X_ORIGINAL_URL": "https://wiki.example.test.evil.example/"},
        {**TRAEFIK, "HTTP_X_FORWARDED_HOST": "evil.example"},
    ],
)
def test_an_unlisted_host_is_refused_even_when_signed_in(client, sign_in_as, headers):
    sign_in_as(["client_staff"])
    before = refusals("host_not_listed")
    response = ask(client, **headers)
    assert response.status_code == 403
    assert "X-AiDial-Redirect" not in response.headers
    assert "Location" not in response.headers
    assert refusals("host_not_listed") == before + 1


def test_a_subdomain_of_a_listed_domain_is_answered(client, sign_in_as):
    sign_in_as(["client_staff"])
    response = ask(client, HTTP_X_ORIGINAL_URL="https://crm.apps.example.test/x")
    assert response.status_code == 200


def test_headers_from_an_untrusted_peer_are_not_believed(client, sign_in_as, portal_config):
    sign_in_as(["client_staff"])
    before = refusals("untrusted_proxy")
    response = ask(client, REMOTE_ADDR="203.0.113.9", **NGINX)
    assert response.status_code == 403
    assert response.json()["reason"] == "untrusted_proxy"
    assert refusals("untrusted_proxy") == before + 1
    portal_config(trust_proxy=True)
    assert ask(client, REMOTE_ADDR="203.0.113.9", **NGINX).status_code == 200


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("colour=blue", "unknown parameter 'colour'"),
        ("level=high", "level= is not supported yet"),
        ("role=partner_admn", "unknown: 'partner_admn'"),
        ("role=", "role= must be comma-separated portal roles"),
        ("role=partner_admin&role=client_staff", "role= given 2 times"),
        ("max_age=0", "max_age= must be a whole number of seconds"),
        ("max_age=ten", "max_age= must be a whole number of seconds"),
        ("max_age=%D9%A3", "max_age= must be a whole number of seconds"),
    ],
)
def test_an_unknown_requirement_is_refused_rather_than_ignored(client, sign_in_as, query, says):
    sign_in_as(["partner_admin"])
    response = ask(client, query, **NGINX)
    assert response.status_code == 400
    assert says in response.json()["detail"]
    assert "X-AiDial-User" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_FORWARDED_URI": "/x"},
        {**TRAEFIK, "HTTP_X_FORWARDED_PROTO": "gopher"},
        {**TRAEFIK, "HTTP_X_FORWARDED_HOST": "wiki.example.test, evil.example"},
        {"HTTP_X_ORIGINAL_URL": "https://wiki.example.test/\\evil"},
    ],
)
def test_a_request_without_a_usable_original_url_is_refused(client, sign_in_as, headers):
    sign_in_as(["client_staff"])
    response = ask(client, **headers)
    assert response.status_code == 400
    assert response.json()["reason"] == "no_original_url"


def test_only_get_and_head_are_answered(client):
    assert client.post("/auth/forward/", **NGINX).status_code == 405


def test_the_step_page_refuses_an_unknown_step(client, sign_in_as):
    sign_in_as(["client_staff"])
    assert client.get("/auth/forward/step/", {"why": "other"}).status_code == 400
