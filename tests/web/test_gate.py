from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from aidial_portal.accounts import session_state
from aidial_portal.audit.models import SecurityEvent
from aidial_portal.mfa.evidence import Factor
from aidial_portal.mfa.policy import ROLE_REQUIREMENTS, requirement_for
from aidial_portal.sessions.backends.cache import SessionStore
from aidial_portal.web.access import (
    NotSignedIn,
    is_compliance_exempt,
    is_public,
    signed_in,
)
from aidial_portal.web.gate import MfaGateMiddleware
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db

PUBLIC_ROUTES = {
    "login/",
    "oidc/callback/",
    "oidc/backchannel-logout/",
    "zitadel/events/",
    "logout/",
    "signed-out/",
    "help/",
    "healthz",
    "readyz",
    "metrics",
    "auth/forward/",  # answers for other services from the session itself (forward auth)
}
COMPLIANCE_EXEMPT_ROUTES = {
    "settings/",
    "settings/refresh/",
    "settings/mfa-setup/",
    "settings/recovery-codes/acknowledge/",
    "settings/recovery-codes/regenerated/",
    "settings/recovery-codes/reviewed/",
    "settings/recovery-codes/answer/",
    "settings/provider-security/",
    "settings/manage-mfa/",
    "no-access/",
    "support/",
    "auth/forward/step/",  # a recent MFA check or a role a service asks for
}


def routes(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def test_every_route_is_gated_unless_its_view_says_otherwise():
    public = {route for route, view in routes() if is_public(view)}
    exempt = {route for route, view in routes() if is_compliance_exempt(view)}
    assert public == PUBLIC_ROUTES
    assert exempt == COMPLIANCE_EXEMPT_ROUTES
    gated = {route for route, _ in routes()} - public - exempt
    assert "" in gated  # the dashboard
    assert "actions/confirm-session/" in gated
    # Django's own exemption (LoginRequiredMiddleware's) says the same of the same views.
    not_required = {
        route for route, view in routes() if getattr(view, "login_required", True) is False
    }
    assert not_required == PUBLIC_ROUTES


def test_every_request_carries_its_sign_in_beside_its_user(client, sign_in_as):
    account = sign_in_as(["partner_admin"])
    signed_in_request = client.get("/").wsgi_request
    assert signed_in_request.sign_in.account_id == account.pk
    assert signed_in_request.user.pk == account.pk
    client.logout()
    signed_out_request = client.get("/help/").wsgi_request
    assert signed_out_request.sign_in is None
    assert not signed_out_request.user.is_authenticated


def test_partner_admin_without_mfa_is_sent_to_settings(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    response = client.get("/?tab=overview")
    assert response.status_code == 302
    assert response["Location"] == "/settings/?next=%2F%3Ftab%3Doverview"


def test_protected_action_is_refused_with_the_reason(client, sign_in_as):
    sign_in_as(["aidial_operator"], evidence(enrolled=True, factor=None))
    response = client.post("/actions/confirm-session/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["reason"] == "challenge_not_satisfied"


def test_json_page_request_gets_a_problem_not_a_redirect(client, sign_in_as):
    sign_in_as(["aidial_admin"], evidence(enrolled=False, factor=None))
    response = client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json()["reason"] == "not_enrolled"


def test_denials_are_recorded_as_security_events(client, sign_in_as):
    account = sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    client.get("/")
    event = SecurityEvent.objects.get(event_type="gate_denied")
    assert (event.account_id, event.reason) == (account.pk, "not_enrolled")


def test_compliant_mandatory_session_reaches_the_dashboard(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(enrolled=True, factor=Factor.TOTP))
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sign out" in response.content


def test_recovery_code_sign_in_is_compliant(client, sign_in_as):
    sign_in_as(["aidial_operator"], evidence(factor=Factor.RECOVERY_CODE))
    assert client.post("/actions/confirm-session/").status_code == 200


def test_stale_mfa_check_is_sent_back_to_settings(client, sign_in_as):
    old = timezone.now() - timedelta(hours=13)
    sign_in_as(["partner_admin"], evidence(factor=Factor.TOTP, at=old))
    response = client.get("/")
    assert response["Location"].startswith("/settings/")


def test_max_age_is_configurable(client, sign_in_as, portal_config):
    portal_config(mfa_max_age=60)
    sign_in_as(["partner_admin"], evidence(at=timezone.now() - timedelta(seconds=120)))
    assert client.get("/").status_code == 302


def test_evidence_unavailable_fails_closed(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(unavailable="provider_timeout", enrolled=None))
    response = client.post("/actions/confirm-session/")
    assert response.json()["reason"] == "evidence_unavailable"


def test_optional_role_without_mfa_has_full_access(client, sign_in_as):
    sign_in_as(["client_staff"], evidence(enrolled=False, factor=None))
    assert client.get("/").status_code == 200
    assert client.post("/actions/confirm-session/").status_code == 200


def test_strictest_role_wins(client, sign_in_as):
    sign_in_as(["client_staff", "partner_admin"], evidence(enrolled=False, factor=None))
    assert client.get("/").status_code == 302


def test_no_portal_role_gets_no_access_but_can_sign_out(client, sign_in_as):
    sign_in_as(["not_a_portal_role"], evidence(enrolled=False, factor=None))
    response = client.get("/")
    assert response.status_code == 403
    assert b"No access" in response.content
    assert b'action="/logout/"' in response.content


def test_signed_out_page_request_goes_to_sign_in(client):
    response = client.get("/settings/?x=1")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fsettings%2F%3Fx%3D1"


def test_signed_out_api_call_gets_401(client):
    response = client.post("/actions/confirm-session/")
    assert response.status_code == 401
    assert response.json()["reason"] == "not_signed_in"


def test_settings_stays_reachable_for_a_non_compliant_session(client, sign_in_as):
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    assert client.get("/settings/").status_code == 200


def test_gate_makes_no_database_query_for_a_compliant_session(django_assert_num_queries):
    session = SessionStore()
    session[session_state.AUTH_KEY] = "1"
    roles = ("partner_admin",)
    session_state.store(
        session,
        session_state.SignedIn(
            subject="s",
            login_hint="",
            roles=roles,
            requirement=requirement_for(roles, ROLE_REQUIREMENTS),
            evidence=evidence(),
            signed_in_at=timezone.now(),
            auth_time=None,
        ),
    )
    request = RequestFactory().get("/")
    request.session = session

    def view(request):  # pragma: no cover - never called by process_view
        raise AssertionError

    gate = MfaGateMiddleware(lambda request: None)
    with django_assert_num_queries(0):
        request.sign_in = session_state.load(session)  # the sign-in middleware's part
        assert gate.process_view(request, view, (), {}) is None


def test_a_garbled_session_state_is_treated_as_signed_out(client, sign_in_as):
    sign_in_as(["partner_admin"])
    session = client.session
    session[session_state.SESSION_KEY] = {"roles": "oops"}
    session.save()
    assert client.get("/")["Location"].startswith("/login/")


def test_views_refuse_rather_than_assume_a_session_if_the_gate_were_bypassed():
    request = RequestFactory().get("/settings/")
    request.session = SessionStore()
    request.sign_in = None
    with pytest.raises(NotSignedIn):
        signed_in(request)
