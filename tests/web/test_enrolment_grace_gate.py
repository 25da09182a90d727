"""The gate and the enrolment deadline the sign-in carries: only "not enrolled" is forgiven,
only before the deadline, and deciding needs no query."""

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from aidial_portal.accounts.rollout import GRACE_SESSION_KEY
from aidial_portal.sessions.backends.cache import SessionStore
from aidial_portal.web.gate import MfaGateMiddleware
from aidial_portal.web.signed_in_account import SignedInAccountMiddleware
from tests.support.portal import evidence

pytestmark = pytest.mark.django_db


def carry_first_seen(client, days_ago, raw=None):
    session = client.session
    first_seen = timezone.now() - timedelta(days=days_ago)
    session[GRACE_SESSION_KEY] = raw if raw is not None else first_seen.isoformat()
    session.save()


@pytest.fixture
def grace_days(portal_config):
    portal_config(enrolment_grace_days=14)


def test_a_not_enrolled_partner_admin_is_let_in_before_the_deadline_without_a_query(
    client, sign_in_as, grace_days, django_assert_num_queries
):
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    carry_first_seen(client, 3)
    assert client.post("/actions/confirm-session/").status_code == 200
    # The gate alone, on the session already loaded: the deadline needs nothing else.
    session = SessionStore()
    session.update(dict(client.session.items()))
    request = RequestFactory().post("/actions/confirm-session/")
    request.session = session
    SignedInAccountMiddleware(lambda request: None).process_request(request)

    def view(request):  # pragma: no cover - never called by process_view
        raise AssertionError

    with django_assert_num_queries(0):
        assert MfaGateMiddleware(lambda request: None).process_view(request, view, (), {}) is None


def test_after_the_deadline_the_gate_sends_them_to_settings(client, sign_in_as, grace_days):
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    carry_first_seen(client, 15)
    assert client.get("/")["Location"] == "/settings/?next=%2F"


def test_an_enrolled_person_signing_in_without_mfa_gets_no_grace(client, sign_in_as, grace_days):
    sign_in_as(["partner_admin"], evidence(enrolled=True, factor=None))
    carry_first_seen(client, 1)
    assert client.get("/")["Location"] == "/settings/?next=%2F"
    assert client.post("/actions/confirm-session/").json()["reason"] == ("challenge_not_satisfied")


def test_unreadable_evidence_gets_no_grace(client, sign_in_as, grace_days):
    sign_in_as(["partner_admin"], evidence(enrolled=None, unavailable="provider_timeout"))
    carry_first_seen(client, 1)
    assert client.get("/")["Location"] == "/settings/?next=%2F"


@pytest.mark.parametrize("raw", ["yesterday", "2026-12-01T00:00:00", 17])
def test_a_deadline_the_session_cannot_read_gives_no_grace(client, sign_in_as, grace_days, raw):
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    carry_first_seen(client, 1, raw=raw)
    assert client.get("/")["Location"] == "/settings/?next=%2F"


def test_turning_grace_off_ends_it_at_the_next_request(client, sign_in_as, portal_config):
    portal_config(enrolment_grace_days=14)
    sign_in_as(["partner_admin"], evidence(enrolled=False, factor=None))
    carry_first_seen(client, 1)
    assert client.get("/").status_code == 200
    portal_config(enrolment_grace_days=0)
    assert client.get("/")["Location"] == "/settings/?next=%2F"
